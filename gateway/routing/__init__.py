"""Choosing variants for a request."""
