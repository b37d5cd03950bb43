"""Runs: the item state machine, rows for the warehouse, run records, the sweep."""
