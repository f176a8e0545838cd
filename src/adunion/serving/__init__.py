"""Serving: the ad decision, a pure function over an in-memory index of slots and campaigns."""
