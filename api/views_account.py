"""The account page: the language, and the personal access tokens for the API and the
terminal client (made with a name and a scope, the token shown once, revoked here)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from api.models import Token
from api.services import token_create, token_revoke


@login_required
@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    made = None  # the new token's text: shown on this response only, never again
    name, scope = "", Token.Scope.SUBMIT
    if request.method == "POST":
        name, scope = request.POST.get("name", ""), request.POST.get("scope", "")
        try:
            token, made = token_create(user=request.user, name=name, scope=scope)  # type: ignore[arg-type]
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            name = ""
            messages.success(
                request,
                _("Token “%(name)s” made. Copy it now: it is not shown again.") % {"name": token.name},
            )
    tokens = Token.objects.filter(user_id=request.user.pk)
    response = render(
        request,
        "api/account.html",
        {
            "tokens": tokens,
            "made": made,
            "name": name,
            "scope": scope,
            "scopes": Token.Scope.choices,
            "server": request.build_absolute_uri("/").rstrip("/"),
        },
    )
    if made:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = token_revoke(user=request.user, token_id=token_id)  # type: ignore[arg-type]
    except Token.DoesNotExist as exc:
        raise Http404 from exc
    messages.success(
        request, _("Token “%(name)s” revoked: it is refused from now on.") % {"name": token.name}
    )
    return redirect("account:home")
