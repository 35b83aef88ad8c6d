"""Websockets authenticated by a token as well as by the session cookie.

A browser cannot put an `Authorization` header on a websocket, so a connection that carries
one comes from a program (the terminal client), and the token is not an ambient credential a
page on another site could make the browser send: it needs no Origin check. Every other
connection is the page's: the session cookie, from an allowed origin."""

from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import AllowedHostsOriginValidator
from django.contrib.auth.models import AnonymousUser

from api.services import token_authenticate


def _bearer(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            kind, _, raw = value.decode("latin-1").partition(" ")
            return raw.strip() if kind.lower() == "bearer" else ""
    return None


def _user_for(raw: str) -> Any:
    token = token_authenticate(raw)
    return token.user if token is not None else AnonymousUser()


class TokenOrSessionAuth:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.session = AllowedHostsOriginValidator(AuthMiddlewareStack(inner))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        raw = _bearer(scope)
        if raw is None:
            return await self.session(scope, receive, send)
        user = await database_sync_to_async(_user_for)(raw)
        return await self.inner({**scope, "user": user}, receive, send)
