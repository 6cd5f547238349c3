"""Recipes: the support system the commands run, chosen with ``pyagent --recipe NAME``.

NAME is an entry point in group ``pyagent.recipes`` (the cookbook registers
``customer-support``) or a module path (``pyagent_cookbook.customer_support``, the
default). An entry point may name a module or any object with the attributes below. The
recipe provides what the commands read from it (`NEEDS`), shaped like the cookbook's
customer-support recipe, whose types are the contract's:

- ``demo``: ``demo()``, a coroutine function that prints the demo;
- ``route``, ``cost-profile``, ``calibrate``: ``SupportSystem`` and ``Classification``;
- ``eval``: ``SupportSystem``, ``chat_handler`` and ``Classification``;
- ``chat``, ``serve``, ``replay``, ``queue approve|decline``: ``chat_handler`` and
  ``Classification``.

``Classification`` is a ``Literal`` of the triage modes the recipe accepts
(``--classification``, whose choices are the cookbook's, must also be one of them).

A recipe is imported only when a command that needs it runs: ``pyagent --help`` and
refused arguments never import one. A name that resolves to nothing, or a recipe without
what the command needs, is a `UserError` (exit code 2, one line).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any, cast, get_args

from pyagent_providers import UserError

if TYPE_CHECKING:  # the reference recipe's types, for the type checker only
    from pyagent_cookbook.customer_support import Classification as Classification
    from pyagent_cookbook.customer_support import RoutingDecision as RoutingDecision
    from pyagent_cookbook.customer_support import SupportSystem as SupportSystem
    from pyagent_patterns import ChatHandler

__all__ = ["DEFAULT_RECIPE", "ENTRY_POINT_GROUP", "NEEDS", "Recipe", "load_recipe"]

ENTRY_POINT_GROUP = "pyagent.recipes"
DEFAULT_RECIPE = "pyagent_cookbook.customer_support"
NEEDS: dict[str, tuple[str, ...]] = {
    "demo": ("demo",),
    "route": ("SupportSystem", "Classification"),
    "cost-profile": ("SupportSystem", "Classification"),
    "calibrate": ("SupportSystem", "Classification"),
    "eval": ("SupportSystem", "chat_handler", "Classification"),
    "chat": ("chat_handler", "Classification"),
    "serve": ("chat_handler", "Classification"),
    "replay": ("chat_handler", "Classification"),
    # approve and decline resume the waiting turn with the recipe's system
    "queue approve": ("chat_handler", "Classification"),
    "queue decline": ("chat_handler", "Classification"),
}
_MODULE_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


@dataclass(frozen=True, slots=True)
class Recipe:
    """A loaded recipe: its name and what the name resolved to (a module, usually)."""

    name: str
    source: object

    @property
    def support_system(self) -> type[SupportSystem]:
        """The recipe's ``SupportSystem`` class."""
        return self._member("SupportSystem")

    @property
    def chat_handler(self) -> Callable[..., ChatHandler]:
        """The recipe's ``chat_handler(store, *, classification, **options)``."""
        return self._member("chat_handler")

    @property
    def demo(self) -> Callable[[], Coroutine[Any, Any, None]]:
        """The recipe's ``demo()`` coroutine function."""
        return self._member("demo")

    @property
    def classifications(self) -> tuple[str, ...]:
        """The triage modes the recipe accepts (the arguments of its ``Classification``)."""
        return tuple(str(mode) for mode in get_args(self._member("Classification")))

    def classification(self, mode: str) -> Classification:
        """`mode`, checked against the recipe's ``Classification``.

        Raises:
            UserError: The recipe has no such mode.
        """
        if mode not in self.classifications:
            raise UserError(
                f"recipe {self.name!r} has no classification {mode!r} "
                f"(it has: {', '.join(self.classifications)})"
            )
        return cast("Classification", mode)

    def _member(self, attribute: str) -> Any:
        return getattr(self.source, attribute)


def load_recipe(name: str, command: str) -> Recipe:
    """Resolve `name` (entry point or module path) and check it serves `command`.

    Raises:
        UserError: No entry point or module has that name, or the recipe lacks what
            `command` reads from it (`NEEDS`).
    """
    source = _resolve(name)
    missing = [
        attribute
        for attribute in NEEDS.get(command, ())
        if not _provides(getattr(source, attribute, None), attribute)
    ]
    if missing:
        raise UserError(
            f"recipe {name!r} does not provide {', '.join(missing)} (needed by `pyagent {command}`)"
        )
    return Recipe(name, source)


def _resolve(name: str) -> object:
    for entry_point in entry_points(group=ENTRY_POINT_GROUP, name=name):
        return _load_entry_point(name, entry_point)
    if not _MODULE_PATH.fullmatch(name):
        raise UserError(_unknown(name))
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if not _is_missing(name, error):
            raise  # the recipe exists but one of its own imports fails: a bug, not bad input
        raise UserError(_unknown(name)) from None


def _load_entry_point(name: str, entry_point: EntryPoint) -> object:
    try:
        return entry_point.load()
    except ModuleNotFoundError as error:
        if not _is_missing(entry_point.module, error):
            raise
        raise UserError(
            f"recipe {name!r}: its entry point names {entry_point.value!r}, which is not installed"
        ) from None
    except AttributeError:
        raise UserError(
            f"recipe {name!r}: its entry point names {entry_point.value!r}, which does not exist"
        ) from None


def _is_missing(module: str, error: ModuleNotFoundError) -> bool:
    """Whether `error` says `module` itself (or a package above it) does not exist."""
    return error.name is not None and (module == error.name or module.startswith(error.name + "."))


def _provides(value: object, attribute: str) -> bool:
    if attribute == "Classification":
        return bool(get_args(value)) and all(isinstance(mode, str) for mode in get_args(value))
    return callable(value)


def _unknown(name: str) -> str:
    registered = sorted({entry.name for entry in entry_points(group=ENTRY_POINT_GROUP)})
    return (
        f"unknown recipe {name!r}: neither an entry point in group {ENTRY_POINT_GROUP} "
        f"(registered: {', '.join(registered) or 'none'}) nor an importable module"
    )
