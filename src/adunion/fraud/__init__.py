"""Invalid traffic: the rules an event is judged by (at decision time and at intake) and the
reasons in words. Pure code over the rate counters; the review of suspicious sites is ``risk``'s."""
