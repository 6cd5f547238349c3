"""``python -m pyagent_cookbook.triage``: train the recipe's triager now (e.g. before tests)."""

from .cache import cache_dir, default_triager

default_triager()
print(f"triage models ready in {cache_dir()}")
