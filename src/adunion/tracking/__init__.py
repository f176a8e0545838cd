"""Tracking: signed offer tokens, event intake and the batched event writer."""
