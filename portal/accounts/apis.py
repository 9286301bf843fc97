"""Account API: obtain a token with a password (for scripts), list and revoke tokens, whoami."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mlmodel.core.profile import NON_BLANK_TEXT_PATTERN
from portal.accounts import throttling
from portal.accounts.selectors import api_token_list_for_user
from portal.accounts.services import TOKEN_NAME_MAX_LENGTH, api_token_create, api_token_revoke
from portal.api.fields import RuleField
from portal.api.openapi import NOT_AUTHENTICATED, ErrorSerializer, PageSerializer
from portal.api.pagination import StandardPagination
from portal.exceptions import InvalidInput

DEFAULT_TOKEN_NAME = "API token"  # noqa: S105 - a label, not a secret
INVALID_CREDENTIALS_MESSAGE = "Unable to log in with the provided username and password."


class TokenObtainInputSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    # Checked by api_token_create, the rule the account page's form uses too.
    name = RuleField(
        schema={
            "type": "string",
            "minLength": 1,
            "maxLength": TOKEN_NAME_MAX_LENGTH,
            "pattern": NON_BLANK_TEXT_PATTERN,
        },
        required=False,
        default=DEFAULT_TOKEN_NAME,
        help_text="What will use the token (surrounding spaces are dropped).",
    )

    def validate_name(self, value: object) -> object:
        if not isinstance(value, str):
            raise serializers.ValidationError(f"Expected text, got {type(value).__name__}.")
        return value


class TokenObtainOutputSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="The secret key. It is never shown again.")
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField()


class MeOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField(allow_null=True)


class ApiTokenOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="First characters of the key, to recognise it.")
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    is_active = serializers.BooleanField()


@throttling.TOKEN_DOOR.limit_class
class ApiTokenObtainApi(APIView):
    """Exchange a username and password for a new named API token (shown once)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="auth_token_obtain",
        summary="Create an API token with a username and password",
        description=(
            "Returns the secret key once; send it as `Authorization: Token <key>`. "
            "Rate-limited per client address and per username (429 with Retry-After)."
        ),
        auth=[],
        request=TokenObtainInputSerializer,
        responses={
            201: TokenObtainOutputSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Missing fields or bad credentials"),
            429: OpenApiResponse(ErrorSerializer, description="Too many attempts"),
            503: OpenApiResponse(
                ErrorSerializer, description="A service it needs (the cache) is down; retry later"
            ),
        },
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        serializer = TokenObtainInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = authenticate(request._request, username=data["username"], password=data["password"])
        if user is None:
            raise InvalidInput(INVALID_CREDENTIALS_MESSAGE)
        token, key = api_token_create(user=user, name=data["name"])
        payload = {"token": key, "id": token.pk, "name": token.name, "prefix": token.prefix}
        return Response(TokenObtainOutputSerializer(payload).data, status=status.HTTP_201_CREATED)


class ApiTokenPageSerializer(PageSerializer):
    results = ApiTokenOutputSerializer(many=True)


class ApiTokenListApi(APIView):
    @extend_schema(
        operation_id="auth_tokens_list",
        summary="List your API tokens (never their secrets)",
        responses={200: ApiTokenPageSerializer, 401: NOT_AUTHENTICATED},
        tags=["auth"],
    )
    def get(self, request: Request) -> Response:
        paginator = StandardPagination()
        page = paginator.paginate_queryset(
            api_token_list_for_user(user=request.user), request, view=self
        )
        return paginator.get_paginated_response(ApiTokenOutputSerializer(page, many=True).data)


class ApiTokenRevokeApi(APIView):
    @extend_schema(
        operation_id="auth_tokens_revoke",
        summary="Revoke one of your API tokens",
        request=None,
        responses={
            204: OpenApiResponse(description="Revoked (revoking twice is harmless)"),
            401: NOT_AUTHENTICATED,
            404: OpenApiResponse(ErrorSerializer, description="Not one of your tokens"),
        },
        tags=["auth"],
    )
    def delete(self, request: Request, token_id: int) -> Response:
        api_token_revoke(user=request.user, token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    @extend_schema(
        operation_id="me",
        summary="Who am I? The account the request authenticates as",
        responses={200: MeOutputSerializer, 401: NOT_AUTHENTICATED},
        tags=["auth"],
    )
    def get(self, request: Request) -> Response:
        return Response(MeOutputSerializer(request.user).data)
