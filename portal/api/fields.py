"""An API input field whose checking belongs to a shared rule, and whose schema states it.

DRF's own field checks answer in their own words and stop at the first bad type or choice; a
``RuleField`` hands the raw JSON value to the serializer, which runs the one rule every door
shares (profile, history dates, feedback) and maps its field errors. The field's ``schema`` is
the JSON Schema the OpenAPI document shows for it, built from the same constants as the rule.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers

JsonSchema = Mapping[str, Any]
# What a copy of the field shares with the original (DRF itself shares validators and regexes).
SHARED_ON_COPY = frozenset({"schema", "validators", "regex"})


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

    def __deepcopy__(self, memo):
        """DRF deep-copies every declared field for each serializer instance; ``schema`` is
        read-only and shared instead (a country schema lists some 500 codes and names: copying
        them for each API request was ~4 % of a worker's time, docs/benchmarks.md)."""
        kwargs = {
            key: value if key in SHARED_ON_COPY else copy.deepcopy(value, memo)
            for key, value in self._kwargs.items()
        }
        return self.__class__(*copy.deepcopy(self._args, memo), **kwargs)

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
