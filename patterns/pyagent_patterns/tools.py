"""Typed Python callables as tools: their signatures and docstrings become JSON schemas.

``@tool`` (or a plain typed function passed in ``tools=``) describes a function; every
parameter needs a type hint (an untyped one is an error, not silently a string). A tool's
result goes back to the model as text: strings as they are, anything else (pydantic
models, dataclasses, dicts, lists) as JSON.

A tool declares its effect: ``@tool(read_only=True)`` only looks things up; anything else
is side-effecting (a plain function is assumed to act, the safe assumption), and
``requires_approval=True`` makes every call wait for a person. Side-effecting calls run
through the action gate (`pyagent_patterns.actions`): a policy decides first, and each call
gets an idempotency key so that retries and redeliveries act once. A parameter named
``idempotency_key: str`` is not shown to the model; the framework fills it with the call's
key, for the API the tool calls (a payment provider's ``Idempotency-Key``). ``grants``
names what a successful call allows the reply to promise (``grants={"refund"}``).
``identity`` says which part of the arguments identifies the action, when the model may
word the same action differently (``identity=lambda a: find_order_id(a["order"])``):
the key is made from it instead of the arguments as written.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast, get_type_hints, overload

import pydantic
import pydantic_core

from pyagent_providers import ToolCall, ToolSpec, UserError
from pyagent_providers.telemetry import ToolOutcome

__all__ = ["IDEMPOTENCY_KEY", "Tool", "ToolResult", "as_tools", "tool"]

IDEMPOTENCY_KEY = "idempotency_key"

_ARG_LINE = re.compile(r"^\s+(\w+)(?:\s*\([^)]*\))?:\s*(.+)$")


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What one tool call gave the model: the observation text and whether the call worked.

    Attributes:
        name: The tool.
        content: The observation the model got.
        ok: Whether the call worked.
        outcome: ``ok``, ``failed``, ``replayed`` (an earlier run's stored outcome),
            ``denied`` (by the policy), ``awaiting_approval``, ``declined`` (by a person),
            ``dry_run`` (described, not run) or ``handed_off``.
        grants: What the call allows the reply to promise (the tool's `Tool.grants`,
            when it worked).
    """

    name: str
    content: str
    ok: bool
    outcome: ToolOutcome = "ok"
    grants: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Tool:
    """A callable the model may call, with its schema and argument validation."""

    name: str
    function: Callable[..., Any]
    spec: ToolSpec
    arguments_model: type[pydantic.BaseModel]
    read_only: bool = False
    requires_approval: bool = False
    grants: frozenset[str] = frozenset()
    hands_off: bool = False
    takes_key: bool = False
    identity: Callable[[Mapping[str, Any]], Any] | None = None

    @classmethod
    def from_function(
        cls,
        function: Callable[..., Any],
        name: str | None = None,
        *,
        read_only: bool = False,
        requires_approval: bool = False,
        grants: Iterable[str] = (),
        hands_off: bool = False,
        identity: Callable[[Mapping[str, Any]], Any] | None = None,
    ) -> Tool:
        """Describe `function` from its type hints and Google-style docstring.

        Raises:
            UserError: A parameter has no type hint, or a read-only tool asks for approval.
        """
        tool_name = name or function.__name__
        if read_only and (requires_approval or grants):
            raise UserError(
                f"tool {tool_name!r}: a read-only tool neither needs approval nor grants"
            )
        doc = inspect.getdoc(function) or ""
        summary = doc.split("\n\n")[0].strip()
        arg_docs = _argument_docs(doc)
        hints = get_type_hints(function)
        fields: dict[str, Any] = {}
        parameters = inspect.signature(function).parameters
        for parameter in parameters.values():
            if parameter.name == IDEMPOTENCY_KEY:
                continue  # filled by the framework, not the model
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                raise UserError(f"tool {tool_name!r}: *args/**kwargs cannot be described")
            if parameter.name not in hints:
                raise UserError(
                    f"tool {tool_name!r}: parameter {parameter.name!r} has no type hint; "
                    "the model is told each parameter's type, so every one needs a hint"
                )
            annotation = hints[parameter.name]
            default = ... if parameter.default is parameter.empty else parameter.default
            fields[parameter.name] = (
                annotation,
                pydantic.Field(default, description=arg_docs.get(parameter.name)),
            )
        model = pydantic.create_model(f"{tool_name}_arguments", **fields)
        schema = model.model_json_schema()
        schema.pop("title", None)
        return cls(
            name=tool_name,
            function=function,
            spec=ToolSpec(name=tool_name, description=summary, parameters=schema),
            arguments_model=model,
            read_only=read_only,
            requires_approval=requires_approval,
            grants=frozenset(grants),
            hands_off=hands_off,
            identity=identity,
            takes_key=IDEMPOTENCY_KEY in parameters,
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function itself (a decorated function stays callable)."""
        return self.function(*args, **kwargs)

    def arguments(self, call: ToolCall) -> dict[str, Any]:
        """`call`'s arguments, validated and with defaults filled.

        Raises:
            pydantic.ValidationError: They do not match the tool's parameters.
        """
        arguments = self.arguments_model.model_validate(dict(call.arguments))
        return {key: getattr(arguments, key) for key in type(arguments).model_fields}

    async def invoke(self, call: ToolCall, *, idempotency_key: str | None = None) -> ToolResult:
        """Run the tool for `call`; its result (or error) as an observation for the model.

        A tool's exception is returned as a failed observation, not raised: the model can
        then correct its arguments or answer without the tool. `idempotency_key` is
        passed to a tool that takes one.
        """
        try:
            values = self.arguments(call)
        except pydantic.ValidationError as exc:
            return self._failed(f"invalid arguments for {self.name}: {describe_invalid(exc)}")
        if self.takes_key:
            values[IDEMPOTENCY_KEY] = idempotency_key or ""
        try:
            if inspect.iscoroutinefunction(self.function):
                result = await self.function(**values)
            else:
                result = await asyncio.to_thread(self.function, **values)
        except Exception as exc:  # a tool's failure is an observation for the model
            return self._failed(f"{self.name} failed: {type(exc).__name__}: {exc}")
        return ToolResult(
            name=self.name, content=as_observation(result), ok=True, grants=self.grants
        )

    def _failed(self, why: str) -> ToolResult:
        return ToolResult(name=self.name, content=f"error: {why}", ok=False, outcome="failed")


def describe_invalid(error: pydantic.ValidationError) -> str:
    """A validation error as one line: ``field: problem; ...``."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())


def as_observation(result: Any) -> str:
    """A tool's return value as text for the model: a str as is, anything else as JSON."""
    if isinstance(result, str):
        return result
    return pydantic_core.to_json(result, fallback=str).decode()


@overload
def tool(function: Callable[..., Any], /) -> Tool: ...
@overload
def tool(
    *,
    name: str | None = None,
    read_only: bool = False,
    requires_approval: bool = False,
    grants: Iterable[str] = (),
    identity: Callable[[Mapping[str, Any]], Any] | None = None,
) -> Callable[[Callable[..., Any]], Tool]: ...
def tool(
    function: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    read_only: bool = False,
    requires_approval: bool = False,
    grants: Iterable[str] = (),
    identity: Callable[[Mapping[str, Any]], Any] | None = None,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a typed function a `Tool`.

    ``@tool``, ``@tool(read_only=True)``, ``@tool(requires_approval=True,
    grants={"refund"})`` or ``@tool(name="lookup_order")``.

    Raises:
        UserError: A parameter has no type hint, or is ``*args``/``**kwargs``.
    """
    if function is not None:
        return Tool.from_function(function, name)

    def decorate(fn: Callable[..., Any]) -> Tool:
        return Tool.from_function(
            fn,
            name,
            read_only=read_only,
            requires_approval=requires_approval,
            grants=grants,
            identity=identity,
        )

    return decorate


def as_tools(
    tools: Mapping[str, Callable[..., Any]] | Iterable[Callable[..., Any] | Tool],
) -> dict[str, Tool]:
    """Normalise a dict of name → callable, or a list of callables/Tools, to Tools by name."""
    if isinstance(tools, Mapping):
        named = cast(Mapping[str, Callable[..., Any]], tools)
        return {name: Tool.from_function(fn, name) for name, fn in named.items()}
    built = [t if isinstance(t, Tool) else Tool.from_function(t) for t in tools]
    return {tool.name: tool for tool in built}


def _argument_docs(doc: str) -> dict[str, str]:
    found: dict[str, str] = {}
    in_args = False
    for line in doc.splitlines():
        if line.strip() in ("Args:", "Arguments:", "Parameters:"):
            in_args = True
            continue
        if in_args:
            match = _ARG_LINE.match(line)
            if match:
                found[match.group(1)] = match.group(2).strip()
            elif line.strip() and not line.startswith(" "):
                in_args = False
    return found
