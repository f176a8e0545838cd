"""Campaigns: what advertisers buy (bids, budgets, schedules, targeting) and their creatives."""
