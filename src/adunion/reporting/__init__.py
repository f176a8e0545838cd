"""Reporting: hourly and daily rollups of tracking events, reports and charts read from them."""
