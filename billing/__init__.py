"""Billing-key registration and charging for i'mport (PortOne V1) merchants, as a Django app."""

__version__ = "0.2.0"  # the package's version (pyproject.toml reads it); CHANGELOG.md has its entry
