"""Typed Python callables as tools: their signatures and docstrings become JSON schemas.

``@tool`` (or a plain typed function passed in ``tools=``) describes a function; every
parameter needs a type hint (an untyped one is an error, not silently a string). A tool's
result goes back to the model as text: strings as they are, anything else (pydantic
models, dataclasses, dicts, lists) as JSON.
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

__all__ = ["Tool", "ToolResult", "as_tools", "tool"]

_ARG_LINE = re.compile(r"^\s+(\w+)(?:\s*\([^)]*\))?:\s*(.+)$")


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What one tool call gave the model: the observation text and whether the call worked."""

    name: str
    content: str
    ok: bool


@dataclass(frozen=True, slots=True)
class Tool:
    """A callable the model may call, with its schema and argument validation."""

    name: str
    function: Callable[..., Any]
    spec: ToolSpec
    arguments_model: type[pydantic.BaseModel]

    @classmethod
    def from_function(cls, function: Callable[..., Any], name: str | None = None) -> Tool:
        """Describe `function` from its type hints and Google-style docstring."""
        tool_name = name or function.__name__
        doc = inspect.getdoc(function) or ""
        summary = doc.split("\n\n")[0].strip()
        arg_docs = _argument_docs(doc)
        hints = get_type_hints(function)
        fields: dict[str, Any] = {}
        for parameter in inspect.signature(function).parameters.values():
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
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function itself (a decorated function stays callable)."""
        return self.function(*args, **kwargs)

    async def invoke(self, call: ToolCall) -> ToolResult:
        """Run the tool for `call`; its result (or error) as an observation for the model.

        A tool's exception is returned as a failed observation, not raised: the model can
        then correct its arguments or answer without the tool.
        """
        try:
            arguments = self.arguments_model.model_validate(dict(call.arguments))
        except pydantic.ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            return self._failed(f"invalid arguments for {self.name}: {problems}")
        values = {key: getattr(arguments, key) for key in type(arguments).model_fields}
        try:
            if inspect.iscoroutinefunction(self.function):
                result = await self.function(**values)
            else:
                result = await asyncio.to_thread(self.function, **values)
        except Exception as exc:  # a tool's failure is an observation for the model
            return self._failed(f"{self.name} failed: {type(exc).__name__}: {exc}")
        return ToolResult(name=self.name, content=as_observation(result), ok=True)

    def _failed(self, why: str) -> ToolResult:
        return ToolResult(name=self.name, content=f"error: {why}", ok=False)


def as_observation(result: Any) -> str:
    """A tool's return value as text for the model: a str as is, anything else as JSON."""
    if isinstance(result, str):
        return result
    return pydantic_core.to_json(result, fallback=str).decode()


@overload
def tool(function: Callable[..., Any], /) -> Tool: ...
@overload
def tool(*, name: str | None = None) -> Callable[[Callable[..., Any]], Tool]: ...
def tool(
    function: Callable[..., Any] | None = None, /, *, name: str | None = None
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a typed function a `Tool`: ``@tool`` or ``@tool(name="lookup_order")``.

    Raises:
        UserError: A parameter has no type hint, or is ``*args``/``**kwargs``.
    """
    if function is not None:
        return Tool.from_function(function, name)

    def decorate(fn: Callable[..., Any]) -> Tool:
        return Tool.from_function(fn, name)

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
