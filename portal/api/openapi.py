"""What every API endpoint shares in its OpenAPI description: the one error shape, the
standard error responses, and the page envelope of list endpoints."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from portal.api.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the API (field name, or ``detail``, → messages)."""

    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text='Field name → messages; errors about no single field are under "detail".',
    )


class PageSerializer(serializers.Serializer):
    """A StandardPagination page; subclasses add ``results``."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


PAGE_PARAMETERS = [
    OpenApiParameter(
        "page", {"type": "integer", "minimum": 1}, description="Page number (from 1)."
    ),
    OpenApiParameter(
        "page_size",
        {"type": "integer", "minimum": 1},
        description=f"Items per page (default {DEFAULT_PAGE_SIZE}; larger values are capped at "
        f"{MAX_PAGE_SIZE}).",
    ),
]

NOT_AUTHENTICATED = OpenApiResponse(ErrorSerializer, description="No or invalid credentials")
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="Not found (or not yours)")
NO_SUCH_PAGE = OpenApiResponse(ErrorSerializer, description="No such page (pages start at 1)")
INVALID = OpenApiResponse(ErrorSerializer, description="Invalid input; errors by field")
RATE_LIMITED = OpenApiResponse(
    ErrorSerializer, description="Too many requests; retry after the Retry-After header"
)
UNSUPPORTED_MEDIA = OpenApiResponse(ErrorSerializer, description="Unsupported Content-Type")
DEPENDENCY_DOWN = OpenApiResponse(
    ErrorSerializer, description="A service it needs (cache, task queue) is down; retry later"
)
