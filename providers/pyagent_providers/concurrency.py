"""Where CPU-bound work runs: a thread pool of its own, not asyncio's default executor.

Embedding, k-NN and regression calls hold a thread for milliseconds to seconds. Run in
asyncio's default executor they queue in front of the event loop's own uses of it, above
all ``getaddrinfo`` for every new HTTP connection: under load (50 tickets in flight) a
request released by the rate limiter then waited seconds for its connection and left in a
burst with others (bench/throughput.py). A separate pool keeps name resolution prompt.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from .errors import UserError

__all__ = ["run_blocking", "run_cpu_bound"]

P = ParamSpec("P")
T = TypeVar("T")

_POOL = ThreadPoolExecutor(
    max_workers=min(8, (os.cpu_count() or 1) + 2), thread_name_prefix="pyagent-cpu"
)


async def run_cpu_bound(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run `function` in pyagent's CPU thread pool and await its result."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_POOL, functools.partial(function, *args, **kwargs))


def run_blocking(start: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine `start()` makes to completion, for code without an event loop.

    Raises:
        UserError: Called from inside a running event loop (``await`` the coroutine there).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(start())
    raise UserError("a *_sync call cannot run inside an event loop; await the async form")
