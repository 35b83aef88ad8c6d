"""Personal access tokens: made, used, revoked. The token is random (256 bits), so a plain
SHA-256 of it is enough to keep: nothing can be guessed from the hash, and a lookup is one
indexed query."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from api.models import Token

PREFIX = "ll_"
TOUCH_EVERY = timedelta(seconds=60)
"""`last_used_at` is written at most once a minute per token: a client polling every second
would otherwise write a row a second."""
MAX_ACTIVE = 20


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def token_create(*, user: AbstractBaseUser, name: str, scope: str) -> tuple[Token, str]:
    """Makes a token and returns it with its text, which is never stored or shown again."""
    name = " ".join(name.split())[:100]
    if not name:
        raise ValidationError(_("Give the token a name, to know it again."), code="name_required")
    if scope not in Token.Scope.values:
        raise ValidationError(_("A token's scope is read or submit."), code="bad_scope")
    active = Token.objects.filter(user_id=user.pk, revoked_at__isnull=True).count()
    if active >= MAX_ACTIVE:
        raise ValidationError(
            _("You have %(count)s tokens. Revoke one you no longer use first.") % {"count": active},
            code="too_many_tokens",
        )
    raw = PREFIX + secrets.token_urlsafe(32)
    token = Token.objects.create(
        user=user, name=name, scope=scope, prefix=raw[: len(PREFIX) + 6], key_hash=_digest(raw)
    )
    return token, raw


def token_authenticate(raw: str) -> Token | None:
    """The active token `raw` is, with its user, or None; notes that it was used."""
    if not raw.startswith(PREFIX) or len(raw) > 100:
        return None
    token = (
        Token.objects.select_related("user")
        .filter(key_hash=_digest(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        Token.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def token_revoke(*, user: AbstractBaseUser, token_id: int) -> Token:
    """Revokes one of the user's tokens; refused on its very next request."""
    token = Token.objects.filter(pk=token_id, user_id=user.pk).first()
    if token is None:
        raise Token.DoesNotExist
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
