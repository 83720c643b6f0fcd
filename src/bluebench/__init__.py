"""bluebench: AI-assisted security detection and triage whose every result is measured."""

__version__ = "0.1.0"
