"""Integrations that make other tools use appshell (``flask shell``)."""
