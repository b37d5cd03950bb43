"""Launch: engines produce launch plans; targets start, check and stop their processes."""
