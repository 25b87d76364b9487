"""One module per agent. Nodes take state (and the injected context) and return partial state."""
