"""Replays of saved runs: one fork at a time to debug, or a batch to compare a new prompt or model."""
