"""Runnable recipes built from pyagent's patterns, with their data."""

__all__: list[str] = []
