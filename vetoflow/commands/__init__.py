"""CLI command groups that live outside cli.py, registered at its bottom."""
