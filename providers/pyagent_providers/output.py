"""Structured output: the schema a reply must follow and its validation.

A schema comes from a pydantic model (parsed into an instance) or from a JSON-schema
dict (validated with `jsonschema`, parsed into a dict). Validation errors become
`ModelOutputError` naming the offending field.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import jsonschema
import pydantic
from jsonschema.exceptions import ValidationError

from .errors import ModelOutputError, UserError

__all__ = ["OutputSchema"]

_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")


@dataclass(frozen=True, slots=True)
class OutputSchema:
    """The structure a model's reply must follow.

    Attributes:
        name: Schema name sent to the provider (letters, digits, ``_`` and ``-``).
        json_schema: The JSON schema (an object at the root).
        description: What the structure means, shown to the model.
        model: The pydantic model to parse into, or ``None`` for a plain dict.

    """

    name: str
    json_schema: Mapping[str, Any]
    description: str = ""
    model: type[pydantic.BaseModel] | None = None

    @classmethod
    def of(cls, spec: OutputSchema | type[Any] | Mapping[str, Any]) -> OutputSchema:
        """Build a schema from a pydantic model class, a JSON-schema dict or a schema."""
        if isinstance(spec, OutputSchema):
            return spec
        if isinstance(spec, type) and issubclass(spec, pydantic.BaseModel):
            model = spec
            return cls(
                name=_NAME_UNSAFE.sub("_", model.__name__)[:64],
                json_schema=model.model_json_schema(),
                description=(model.__doc__ or "").strip(),
                model=model,
            )
        if isinstance(spec, Mapping):
            schema = spec
            if schema.get("type") != "object":
                raise UserError("a JSON output schema must have type 'object' at its root")
            jsonschema.Draft202012Validator.check_schema(dict(schema))
            title = str(schema.get("title", "output"))
            return cls(
                name=_NAME_UNSAFE.sub("_", title)[:64],
                json_schema=schema,
                description=str(schema.get("description", "")),
            )
        raise UserError(
            f"output schema must be a pydantic model class or a JSON-schema dict, not {spec!r}"
        )

    def parse(self, raw: str | Mapping[str, Any]) -> Any:
        """Validate a model's answer (JSON text or decoded object) against the schema.

        Raises:
            ModelOutputError: The answer is not JSON or does not match; `field` names where.

        """
        text = raw if isinstance(raw, str) else json.dumps(raw)
        if isinstance(raw, str):
            try:
                data: Any = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ModelOutputError(
                    f"structured output for {self.name!r} is not valid JSON: {exc.msg} "
                    f"at position {exc.pos}",
                    raw=text,
                ) from exc
        else:
            data = dict(raw)
        if self.model is not None:
            try:
                return self.model.model_validate(data)
            except pydantic.ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(part) for part in first["loc"])
                raise ModelOutputError(
                    f"structured output for {self.name!r} is invalid at field "
                    f"{where or '<root>'!r}: {first['msg']}",
                    field=where,
                    raw=text,
                ) from exc
        error = _first_schema_error(self.json_schema, data)
        if error is not None:
            where = ".".join(str(part) for part in error.absolute_path)
            if not where and str(error.validator) == "required":
                missing = re.findall(r"'([^']+)' is a required property", error.message)
                where = missing[0] if missing else ""
            raise ModelOutputError(
                f"structured output for {self.name!r} is invalid at field "
                f"{where or '<root>'!r}: {error.message}",
                field=where,
                raw=text,
            )
        return data

    def strict_json_schema(self) -> dict[str, Any]:
        """The schema in OpenAI's strict form: closed objects, every property required."""
        schema = copy.deepcopy(dict(self.json_schema))
        _make_strict(schema)
        return schema


def _first_schema_error(schema: Mapping[str, Any], data: Any) -> ValidationError | None:
    validator = jsonschema.Draft202012Validator(dict(schema))
    errors = cast(Iterable[ValidationError], validator.iter_errors(data))  # pyright: ignore[reportUnknownMemberType]
    return cast(ValidationError | None, jsonschema.exceptions.best_match(errors))  # pyright: ignore[reportUnknownMemberType,reportAttributeAccessIssue]


def _make_strict(schema: dict[str, Any]) -> None:
    schema.pop("default", None)
    properties = cast(dict[str, Any], schema.get("properties", {}))
    if schema.get("type") == "object" and properties:
        schema["additionalProperties"] = False
        schema["required"] = list(properties)
    children: list[Any] = [*properties.values(), schema.get("items")]
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        children += cast(list[Any], schema.get(key, []))
    for key in ("$defs", "definitions"):
        children += cast(dict[str, Any], schema.get(key, {})).values()
    for child in children:
        if isinstance(child, dict):
            _make_strict(cast(dict[str, Any], child))
