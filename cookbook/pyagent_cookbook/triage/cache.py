"""The recipe's triager (`default_triager`), fitted once per machine and cached on disk."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from functools import cache
from pathlib import Path

import numpy as np

from pyagent_patterns.escalations import default_data_dir
from pyagent_router.escalation import DEFAULT_RULES

from ..data import training_examples
from .triager import Triager

__all__ = ["cache_dir", "default_triager"]


@cache
def default_triager() -> Triager:
    """The recipe's triager, trained on `training_examples` once per machine.

    Training takes about half a minute (embedding the labelled examples and their
    sentences, then a dozen cross-validated fits), so the fitted triager is saved under
    ``$PYAGENT_DATA_DIR/cache/`` with a digest of everything it was made from: the labelled
    data, the escalation rules, the code of the modules that fit it and the library
    versions (`cache_dir`). A new process loads it in about a second; any change retrains.
    The examples' vectors are kept there too (``vectors-*.sqlite3``, by model and text
    hash), so a retrain embeds only new or changed examples. Only the recipe's own labelled
    data is in them, never customer messages. The file is a pickle that pyagent itself
    wrote: keep the data directory as private as the conversations in it.
    """
    path = cache_dir() / f"triager-{_fit_digest()}.pickle"
    try:
        with path.open("rb") as file:
            loaded = pickle.load(file)
        if isinstance(loaded, Triager):
            return loaded
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        pass  # missing, unreadable or from other code: train again and rewrite it
    triager = Triager.fit(training_examples(), vectors=cache_dir())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        with partial.open("wb") as file:
            pickle.dump(triager, file, protocol=pickle.HIGHEST_PROTOCOL)
        partial.replace(path)  # atomic: a concurrent reader sees the whole file or none
        for stale in path.parent.glob("triager-*.pickle"):  # fits of older code or data
            if stale != path:
                stale.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only data directory only costs the next process its training time
    return triager


def cache_dir() -> Path:
    """Where fitted models are kept: ``$PYAGENT_CACHE_DIR`` or ``$PYAGENT_DATA_DIR/cache``."""
    override = os.environ.get("PYAGENT_CACHE_DIR")
    return Path(override) if override else default_data_dir() / "cache"


def _fit_digest() -> str:
    """What the fitted triager depends on: data, rules, fitting code, library versions."""
    import sklearn  # pyright: ignore[reportMissingTypeStubs]

    from pyagent_router import difficulty, embedding_classifier, features, ngrams, text
    from pyagent_router.escalation import learned, policy, rules

    digest = hashlib.sha256()
    for example in training_examples():
        digest.update(json.dumps([example.text, dict(example.labels)], sort_keys=True).encode())
    for module in (
        difficulty,
        embedding_classifier,
        features,
        ngrams,
        text,
        learned,
        policy,
        rules,
    ):
        digest.update(Path(str(module.__file__)).read_bytes())
    # This package's own modules (labels, triager, cache...): every file, so a module split
    # off later is covered without touching this list.
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.read_bytes())
    digest.update(DEFAULT_RULES.read_bytes())
    digest.update(f"{sklearn.__version__} {np.__version__}".encode())  # pyright: ignore[reportUnknownMemberType]
    return digest.hexdigest()[:16]
