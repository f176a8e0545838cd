"""Risk review: sites whose click-through rate is anomalous are flagged by a scan of the serving
stats; risk staff dismiss a flag or confirm it and suspend the site."""
