"""The review web UI (``bluebench serve``): queue, incidents, detectors, metrics, search."""

from bluebench.web.app import create_app

__all__ = ["create_app"]
