"""The version of rmfhc, recorded in every evaluation (one place; pyproject.toml reads it)."""

__version__ = "0.2.0"
