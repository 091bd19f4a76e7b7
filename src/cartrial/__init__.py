"""cartrial: design, run and analyse first-in-human CAR-T cell therapy trials in autoimmune disease."""

__version__ = "0.1.0"
"""The version: the one place it is written (``pyproject.toml`` reads it; see CHANGELOG.md)."""

__all__ = ["__version__"]
