"""Risk figures from the simulated paths: outcomes per path, their summaries, and the fail-closed guard."""
