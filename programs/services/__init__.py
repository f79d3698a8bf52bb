"""Every write of the program level, one module per area: board (PIs, iterations,
features, milestones, the PI forecast), governance (objectives, risks, RACI, decisions)."""
