"""An API input field whose checking belongs to a shared rule, and whose schema states it.

DRF's own field checks answer in their own words and stop at the first bad type or choice; a
``RuleField`` hands the raw JSON value to the serializer, which runs the one rule every door
shares (profile, history dates, feedback) and maps its field errors. The field's ``schema`` is
the JSON Schema the OpenAPI document shows for it, built from the same constants as the rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers

JsonSchema = Mapping[str, Any]


class RuleField(serializers.Field):
    """Passes the value through untouched; ``schema`` is a dict, or a callable for rules whose
    bounds move with time (the latest work year), evaluated whenever the schema is built.

    ``component`` names a schema that several fields share (a country), stated once.
    """

    def __init__(
        self,
        *,
        schema: JsonSchema | Callable[[], JsonSchema],
        component: str | None = None,
        **kwargs,
    ):
        self.schema = schema
        self.component = component
        super().__init__(**kwargs)

    def json_schema(self) -> dict[str, Any]:
        return dict(self.schema() if callable(self.schema) else self.schema)

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


class RuleFieldSchema(OpenApiSerializerFieldExtension):
    target_class = RuleField

    def map_serializer_field(self, auto_schema, direction):
        schema = self.target.json_schema()
        name = self.target.component
        if name is None:
            return schema
        component = ResolvedComponent(
            name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref
