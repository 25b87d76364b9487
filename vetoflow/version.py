"""The installed release, read once from the package metadata (the CLI, the API and health report it alike)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("vetoflow")
except PackageNotFoundError:  # running from a source tree that was never installed
    VERSION = "0+unknown"
