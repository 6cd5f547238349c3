"""``python -m pyagent_cookbook.customer_support``: the demo (as ``pyagent demo``)."""

import asyncio

from .showcase import demo

asyncio.run(demo())
