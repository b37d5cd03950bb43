"""Analysis: Pareto frontiers, regressions, run reports."""
