"""Revenue forecasting engines; pure numerics, no graph or I/O."""
