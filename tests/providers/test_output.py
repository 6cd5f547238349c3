from enum import StrEnum

import pydantic
import pytest

from pyagent_providers import ModelOutputError, OutputSchema, UserError


class Category(StrEnum):
    billing = "billing"
    technical = "technical"


class Ticket(pydantic.BaseModel):
    """A classified support ticket."""

    category: Category
    priority: int
    summary: str = ""


def test_pydantic_models_parse_into_instances() -> None:
    schema = OutputSchema.of(Ticket)
    assert schema.name == "Ticket" and schema.description == "A classified support ticket."
    ticket = schema.parse('{"category": "billing", "priority": 2}')
    assert ticket == Ticket(category=Category.billing, priority=2)


def test_invalid_json_is_a_clear_error() -> None:
    with pytest.raises(ModelOutputError, match="not valid JSON") as caught:
        OutputSchema.of(Ticket).parse('{"category": ')
    assert caught.value.raw == '{"category": '


def test_wrong_field_is_named() -> None:
    with pytest.raises(ModelOutputError, match="'category'") as caught:
        OutputSchema.of(Ticket).parse({"category": "weather", "priority": 1})
    assert caught.value.field == "category"
    with pytest.raises(ModelOutputError) as missing:
        OutputSchema.of(Ticket).parse({"category": "billing"})
    assert missing.value.field == "priority"


def test_json_schema_dicts_validate_and_name_fields() -> None:
    schema = OutputSchema.of(
        {
            "title": "route",
            "type": "object",
            "properties": {"route": {"type": "string", "enum": ["fast", "smart"]}},
            "required": ["route"],
        }
    )
    assert schema.parse('{"route": "fast"}') == {"route": "fast"}
    with pytest.raises(ModelOutputError) as wrong:
        schema.parse('{"route": "slow"}')
    assert wrong.value.field == "route"
    with pytest.raises(ModelOutputError) as missing:
        schema.parse("{}")
    assert missing.value.field == "route"


def test_bad_schemas_are_user_errors() -> None:
    with pytest.raises(UserError, match="type 'object'"):
        OutputSchema.of({"type": "string"})
    with pytest.raises(UserError, match="pydantic model class or a JSON-schema dict"):
        OutputSchema.of(int)


def test_strict_schema_closes_objects_and_requires_every_property() -> None:
    strict = OutputSchema.of(Ticket).strict_json_schema()
    assert strict["additionalProperties"] is False
    assert strict["required"] == ["category", "priority", "summary"]
    assert "default" not in strict["properties"]["summary"]
    assert "additionalProperties" not in OutputSchema.of(Ticket).json_schema  # original untouched
