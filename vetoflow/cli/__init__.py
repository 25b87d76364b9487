"""The `vetoflow` command line. Commands load on first use, so `vetoflow --help` imports almost nothing."""

from vetoflow.cli.app import cli, main

__all__ = ["cli", "main"]
