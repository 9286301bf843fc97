"""A base for serializers whose fields are the same for every instance."""

from __future__ import annotations

import copy
import threading

from rest_framework import serializers

LIST_FIELDS = (serializers.ListSerializer, serializers.ListField, serializers.DictField)


class FixedFieldsSerializer(serializers.Serializer):
    """Copies its declared fields shallowly for each instance, where DRF deep-copies them.

    DRF deep-copies every declared field for every serializer instance so that an instance may
    change its own fields; these serializers never do, and for an API prediction the deep copies
    were ~16 % of the request's CPU (docs/benchmarks.md). A shallow copy still gives each
    instance fields of its own to bind (``bind`` sets the parent, name and source on the copy);
    what the copies share (choices, validators, schemas, help text) is only ever read.
    """

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = {}
        for name, declared in self._declared_fields.items():
            if isinstance(declared, LIST_FIELDS):
                # Their ``child`` is bound and written per instance (DRF sets its instance and
                # data while validating a list): each instance needs a child of its own.
                fields[name] = copy.deepcopy(declared)
                continue
            # A bare copy of the instance dictionary: copy.copy's protocol costs more than this.
            field = object.__new__(type(declared))
            field.__dict__.update(declared.__dict__)
            # A nested serializer builds its own fields, bound to itself, when first asked.
            field.__dict__.pop("fields", None)
            fields[name] = field
        return fields

    @classmethod
    def represent(cls, instance, *, context: dict | None = None) -> dict:
        """``cls(instance, context=context).data`` as a plain dict, from one instance per
        thread whose fields are built and bound once: for one object per request, building
        and binding the fields cost more than writing them out (docs/benchmarks.md). Only
        the context changes between calls, and nothing of it is kept afterwards."""
        bound = _bound_serializers.__dict__.get(cls)
        if bound is None:
            bound = _bound_serializers.__dict__[cls] = cls(context={})
        bound._context = context or {}
        try:
            return bound.to_representation(instance)
        finally:
            bound._context = {}


# Per thread, per serializer class: the instance ``represent`` reuses.
_bound_serializers = threading.local()
