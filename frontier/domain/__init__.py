"""Domain: the deployment label grammar, the model/hardware catalog, sweep specs."""
