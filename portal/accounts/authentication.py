"""DRF authentication with the portal's hashed, revocable API tokens.

Clients send ``Authorization: Token <key>`` (DRF's convention) or ``Authorization: Bearer <key>``.

Every API request starts here, so the look-up is one indexed query whose SQL the ORM compiles
once per process and database (:func:`token_lookup`), not once per request: building that
``select_related`` query cost more CPU than running it (docs/benchmarks.md). The SQL comes
from the same queryset as before, so it follows the models; the rows become model instances
through ``Model.from_db`` like any ORM result. Web processes keep the rows they looked up
while PostgreSQL can tell them of every change (``token_cache``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.utils import timezone
from rest_framework import authentication, exceptions

from portal.accounts import token_cache
from portal.accounts.models import ApiToken, hash_token_key

ACCEPTED_KEYWORDS = ("token", "bearer")
LAST_USED_RESOLUTION_SECONDS = 60
# Stands in for the digest while the SQL is compiled; sha256 hex digests are never all zeros.
_DIGEST_PLACEHOLDER = "0" * 64


@dataclass(frozen=True)
class TokenLookup:
    """The compiled look-up: ``sql`` with ``params`` (the digest at ``digest_index``), and for
    each model the positions of its columns in a row and their attribute names."""

    alias: str
    sql: str
    params: tuple
    digest_index: int
    token_columns: tuple[int, ...]
    token_fields: tuple[str, ...]
    user_columns: tuple[int, ...]
    user_fields: tuple[str, ...]
    converters: dict

    def fetch(self, digest: str) -> ApiToken | None:
        """The active token with this digest, its ``user`` loaded, or ``None``. The row comes
        from this process's memory when it can (``portal/accounts/token_cache.py``); the
        models are built afresh for every request, so no request sees another's objects."""
        row = token_cache.cached_row(
            digest, self.alias, lambda: self._query(digest), self._user_id_of
        )
        if row is None:
            return None
        token = ApiToken.from_db(
            self.alias, self.token_fields, [row[i] for i in self.token_columns]
        )
        user = get_user_model().from_db(
            self.alias, self.user_fields, [row[i] for i in self.user_columns]
        )
        token.user = user
        return token

    def _query(self, digest: str) -> tuple | None:
        params = list(self.params)
        params[self.digest_index] = digest
        with connections[self.alias].cursor() as cursor:
            cursor.execute(self.sql, params)
            row = cursor.fetchone()
        if row is None or not self.converters:
            return row
        row = list(row)
        for position, (functions, expression) in self.converters.items():
            for convert in functions:
                row[position] = convert(row[position], expression, connections[self.alias])
        return tuple(row)

    def _user_id_of(self, row: tuple) -> int:
        return row[self.token_columns[self.token_fields.index("user_id")]]


@functools.cache
def token_lookup(alias: str = DEFAULT_DB_ALIAS) -> TokenLookup:
    """Compile ``ApiToken.objects.active().select_related("user").get(key_hash=…)`` once."""
    queryset = ApiToken.objects.using(alias).active().select_related("user")
    compiler = queryset.filter(key_hash=_DIGEST_PLACEHOLDER).query.get_compiler(alias)
    sql, params = compiler.as_sql()
    user_model = get_user_model()
    positions: dict[tuple[type, str], int] = {}
    for position, (expression, _sql, _alias) in enumerate(compiler.select):
        field = expression.target
        positions[field.model._meta.concrete_model, field.attname] = position
    # Model.from_db takes a full row in the model's own field order.
    token_fields = tuple(field.attname for field in ApiToken._meta.concrete_fields)
    user_fields = tuple(field.attname for field in user_model._meta.concrete_fields)
    return TokenLookup(
        alias=alias,
        sql=sql,
        params=tuple(params),
        digest_index=list(params).index(_DIGEST_PLACEHOLDER),
        token_columns=tuple(positions[ApiToken, name] for name in token_fields),
        token_fields=token_fields,
        user_columns=tuple(positions[user_model, name] for name in user_fields),
        user_fields=user_fields,
        converters=compiler.get_converters([expression for expression, *_ in compiler.select]),
    )


class ApiTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode("latin-1").lower() not in ACCEPTED_KEYWORDS:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Invalid Authorization header: expected 'Token <key>'."
            )
        try:
            key = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid token characters.") from exc
        token = token_lookup(router.db_for_read(ApiToken)).fetch(hash_token_key(key))
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        self._touch(token)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return 'Token realm="api"'

    @staticmethod
    def _touch(token: ApiToken) -> None:
        """Record use at most once a minute, so hot clients do not write on every call."""
        now = timezone.now()
        last = token.last_used_at
        if last is None or (now - last).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
