"""``python -m bench``: run every benchmark script in this folder, one JSON document each.

A benchmark is a module ``bench/<name>.py`` with a ``main(argv) -> dict`` function; its
result is printed as one JSON line ``{"benchmark": name, ...}``. Arguments after the
command are passed to every benchmark (e.g. ``--data ../shared/datasets``).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    names = sorted(
        info.name
        for info in pkgutil.iter_modules([str(Path(__file__).parent)])
        if not info.name.startswith("_")
    )
    if not names:
        print(json.dumps({"benchmarks": [], "note": "no benchmark scripts yet"}))
        return 0
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        result = module.main(argv)
        print(json.dumps({"benchmark": name, **result}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
