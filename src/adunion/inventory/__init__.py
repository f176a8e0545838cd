"""Inventory: the sites webmasters verify and the ad slots they sell. See docs/inventory.md."""
