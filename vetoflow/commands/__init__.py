"""CLI commands that live in their own modules; each is registered at the bottom of vetoflow.cli."""
