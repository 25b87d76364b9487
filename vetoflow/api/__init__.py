"""The HTTP API: JSON endpoints over the run service, for systems that decide without a browser."""

from vetoflow.api.app import create_app

__all__ = ["create_app"]
