"""Runs as users see them: the index of runs by status, and the service that starts and decides them."""
