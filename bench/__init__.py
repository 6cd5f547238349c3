"""Benchmarks on public data (../shared/datasets); each script prints JSON."""
