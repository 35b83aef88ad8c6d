"""The JSON API under /api/v1/. Each operation translates a request into the selectors and
services the pages use, so it enforces exactly what they enforce, and a result into the
schema's shapes; the OpenAPI schema is generated from these signatures."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Query, Schema, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer

from api import schemas, sse
from api.models import Token
from api.services import token_authenticate, token_create, token_revoke
from courses.selectors import profile_language_for, run_get_for_staff
from courses.templatetags.layerlab import localized
from labs.errors import RETRY_AFTER_SECONDS, database_unavailable
from labs.exports import gradebook_data
from labs.models import Exercise, Submission
from labs.selectors import (
    assignment_for_exercise_page,
    assignment_standings,
    exercise_expects_dockerignore,
    exercise_passing_score,
    gradebook_for,
    member_runs,
    standing_refusal_text,
    submission_events_after,
    submission_get_for_user,
    submission_result_rows,
    violation_text,
)
from labs.selectors_staff import assignment_get_in_run
from labs.services import rate_take, submission_create
from sandbox import policy

log = logging.getLogger(__name__)

EVENTS_PAGE = 500


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


class TokenAuth(HttpBearer):
    """A personal access token in `Authorization: Bearer`. Without an `Accept-Language`, the
    answers are in the account's language."""

    def authenticate(self, request: HttpRequest, token: str) -> Token | None:
        found = token_authenticate(token)
        if found is None:
            return None
        request.user = found.user
        if not request.META.get("HTTP_ACCEPT_LANGUAGE"):
            language = profile_language_for(found.user_id)
            if language:
                translation.activate(language)
        return found


api = NinjaAPI(
    title="Layerlab API",
    version="1",
    description="Submit Dockerfiles and follow their grading. Every error is `{code, message}`.",
    auth=TokenAuth(),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)

ERRORS: dict[int, type[Schema]] = {
    400: schemas.ErrorOut,
    401: schemas.ErrorOut,
    404: schemas.ErrorOut,
    422: schemas.ErrorOut,
}


def _error(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    return api.create_response(request, {"code": code, "message": message}, status=status)


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    response = _error(request, exc.status, exc.code, exc.message)
    if exc.retry_after:
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    message = _("This needs a valid token: make one on your account page, or run `layerlab login`.")
    response = _error(request, 401, "unauthorized", message)
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", _("Not found."))


@api.exception_handler(NinjaValidationError)
def _invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "payload"))
    detail = f"{where}: {first.get('msg', '')}" if where else str(first.get("msg", ""))
    return _error(request, 422, "invalid", _("The request is not valid (%(detail)s).") % {"detail": detail})


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, "invalid", str(exc))


@api.exception_handler(Exception)
def _our_fault(request: HttpRequest, exc: Exception) -> HttpResponse:
    if database_unavailable(exc):
        log.warning("API request %s %s: the database is unavailable: %s", request.method, request.path, exc)
        message = _("Layerlab is briefly unavailable. Please try again shortly.")
        response = _error(request, 503, "unavailable", message)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    log.exception("API request %s %s failed on our side", request.method, request.path)
    return _error(request, 500, "our_fault", _("Something went wrong on our side. Please try again."))


def _token(request: HttpRequest) -> Token:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def _submitting(request: HttpRequest) -> None:
    if not _token(request).can_submit:
        raise ApiError(403, "forbidden", _("This token may only read. Make one that may submit."))


@api.post(
    "/tokens",
    auth=None,
    response={201: schemas.TokenOut, 429: schemas.ErrorOut, **ERRORS},
    summary="Make a token from a username and password",
    tags=["tokens"],
)
def token_make(request: HttpRequest, body: schemas.TokenIn) -> Status[dict[str, Any]]:
    address = request.META.get("REMOTE_ADDR", "")
    wait = max(
        rate_take(key=f"token-user:{body.username.lower()}", limit=settings.LAYERLAB_TOKEN_TRIES_PER_MINUTE),
        rate_take(key=f"token-addr:{address}", limit=3 * settings.LAYERLAB_TOKEN_TRIES_PER_MINUTE),
    )
    if wait:
        message = _("Too many tries in a minute. Try again in %(seconds)s s.") % {"seconds": wait}
        raise ApiError(429, "rate_limited", message, retry_after=wait)
    user = authenticate(request, username=body.username, password=body.password)
    if user is None:
        raise ApiError(401, "bad_credentials", _("The username or password is not right."))
    try:
        token, raw = token_create(user=user, name=body.name, scope=body.scope)
    except DjangoValidationError as exc:
        raise ApiError(422, exc.code or "invalid", exc.messages[0]) from exc
    return Status(201, {"token": raw, "name": token.name, "scope": token.scope, "prefix": token.prefix})


@api.delete(
    "/tokens/current",
    response={204: None, 401: schemas.ErrorOut},
    summary="Revoke the token this request carries",
    tags=["tokens"],
)
def token_forget(request: HttpRequest) -> Status[None]:
    """Revokes the token this request carries (`layerlab logout`)."""
    token_revoke(user=request.user, token_id=_token(request).pk)  # type: ignore[arg-type]
    return Status(204, None)


@api.get("/me", response={200: schemas.MeOut, **ERRORS}, summary="Who the token belongs to", tags=["you"])
def me(request: HttpRequest) -> dict[str, Any]:
    token = _token(request)
    return {
        "username": request.user.get_username(),
        "language": translation.get_language() or settings.LANGUAGE_CODE,
        "token": token.name,
        "scope": token.scope,
    }


@api.get(
    "/runs",
    response={200: list[schemas.RunOut], **ERRORS},
    summary="My course runs and assignments: due times, attempts left",
    tags=["classroom"],
)
def runs(request: HttpRequest) -> list[dict[str, Any]]:
    """My course runs and their assignments, each exercise with where I stand on it now."""
    out = []
    for member_run in member_runs(request.user):  # type: ignore[arg-type]
        run = member_run.run
        assignments = []
        for listed in member_run.assignments:
            a, terms = listed.assignment, listed.terms
            standings = assignment_standings(request.user, a)  # type: ignore[arg-type]
            assignments.append(
                {
                    "id": a.pk,
                    "title": localized(a, "title"),
                    "opens_at": terms.opens_at,
                    "due_at": terms.due_at,
                    "late_until": terms.late_until,
                    "time_zone": run.time_zone,
                    "phase": listed.phase,
                    "max_attempts": terms.max_attempts,
                    "exercises": [
                        {
                            **_exercise_ref(s.exercise),
                            "attempts_used": s.used,
                            "attempts_left": s.left,
                            "refusal": standing_refusal_text(s) if s.refusal else None,
                            "refusal_code": s.refusal.code if s.refusal else None,
                        }
                        for s in standings
                    ],
                }
            )
        out.append(
            {
                "slug": run.slug,
                "title": run.title,
                "course": run.course.slug,
                "course_title": localized(run.course, "title"),
                "role": member_run.role,
                "assignments": assignments,
            }
        )
    return out


def _exercise_ref(exercise: Exercise) -> dict[str, Any]:
    return {"course": exercise.course.slug, "slug": exercise.slug, "title": localized(exercise, "title")}


def _exercise_get(course: str, slug: str) -> Exercise:
    return get_object_or_404(
        Exercise.objects.select_related("course", "session"), course__slug=course, slug=slug
    )


@api.get(
    "/exercises",
    response={200: list[schemas.ExerciseBrief], **ERRORS},
    summary="Every exercise I can practise",
    tags=["exercises"],
)
def exercises(request: HttpRequest) -> list[dict[str, Any]]:
    """Every exercise one may practise (practice counts for nothing; `/runs` says where an
    attempt would count)."""
    found = Exercise.objects.select_related("course", "session").order_by(
        "course__slug", "session__position", "session__id", "position", "id"
    )
    return [
        {
            **_exercise_ref(e),
            "session": localized(e.session, "title"),
            "passing_score": exercise_passing_score(e),
        }
        for e in found
    ]


@api.get(
    "/exercises/{course}/{slug}",
    response={200: schemas.ExerciseOut, **ERRORS},
    summary="One exercise: instructions, starter, allowed bases, context files",
    tags=["exercises"],
)
def exercise(request: HttpRequest, course: str, slug: str) -> dict[str, Any]:
    e = _exercise_get(course, slug)
    files = [
        {"path": path, "size": len(text.encode("utf-8")), "text": text}
        for path, text in e.context_files.items()
    ]
    files += [{"path": a["path"], "size": int(a.get("size") or 0), "text": None} for a in e.assets or []]
    return {
        **_exercise_ref(e),
        "session": localized(e.session, "title"),
        "passing_score": exercise_passing_score(e),
        "instructions_md": localized(e, "instructions_md", "instructions_en"),
        "starter_dockerfile": e.starter_dockerfile,
        "allowed_base_images": list(e.allowed_base_images),
        "build_timeout_seconds": e.build_timeout_seconds,
        "dockerignore_expected": exercise_expects_dockerignore(exercise=e) is not None,
        "context_files": sorted(files, key=lambda f: f["path"]),
        "url": request.build_absolute_uri(e.get_absolute_url()),
    }


SUBMIT_STATUS = {"rate_limited": 429, "queue_full": 429, "empty": 400, "too_large": 400, "not_utf8": 400}
"""How a refusal of `submission_create` is answered; any other (the assignment's rules: not
open, closed, no attempts left, too soon) is 409, the state of things refusing it."""


@api.post(
    "/submissions",
    response={
        201: schemas.SubmissionOut,
        403: schemas.ErrorOut,
        409: schemas.ErrorOut,
        429: schemas.ErrorOut,
        **ERRORS,
    },
    summary="Submit a Dockerfile",
    tags=["submissions"],
)
def submission_make(request: HttpRequest, body: schemas.SubmissionIn) -> Status[dict[str, Any]]:
    """Submit a Dockerfile (and a `.dockerignore`) to an exercise, for an assignment or as
    practice. The same rules as the exercise page: attempt limits, pace, size, UTF-8."""
    _submitting(request)
    e = _exercise_get(body.course, body.exercise)
    assignment = assignment_for_exercise_page(
        request.user, e, str(body.assignment) if body.assignment is not None else None
    )
    for text in (body.dockerfile, body.dockerignore):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate, which JSON can carry and UTF-8 cannot
            refused = policy.check_utf8(text.encode("utf-8", "surrogatepass"))
            assert refused is not None
            raise ApiError(400, refused.code, violation_text(refused)) from None
    try:
        submission = submission_create(
            owner=request.user,  # type: ignore[arg-type]
            exercise=e,
            dockerfile=body.dockerfile.removeprefix("\ufeff"),
            dockerignore=body.dockerignore,
            assignment=assignment,
        )
    except DjangoValidationError as exc:
        code = exc.code or "refused"
        retry = (exc.params or {}).get("retry_after")
        raise ApiError(SUBMIT_STATUS.get(code, 409), code, exc.messages[0], retry_after=retry) from exc
    return Status(201, _submission_out(request, submission_get_for_user(request.user, submission.pk)))


def _submission_out(request: HttpRequest, s: Submission) -> dict[str, Any]:
    english = not (translation.get_language() or "").startswith("ko")
    failure = None
    if s.failure_code:
        failure = {"code": s.failure_code, "message": s.failure_message, "line": s.failure_line}
    results = [
        {
            **row,
            "title": row["title"]["en" if english else "ko"],
            "detail": row["detail"].get("en" if english else "ko", ""),
        }
        for row in submission_result_rows(s)
    ]
    return {
        "id": s.pk,
        "url": request.build_absolute_uri(reverse("labs:submission", kwargs={"submission_id": s.pk})),
        "exercise": _exercise_ref(s.exercise),
        "assignment": s.assignment_id,
        "trial": s.trial,
        "status": s.status,
        "finished": s.is_finished,
        "score": s.score,
        "passing_score": exercise_passing_score(s.exercise),
        "image_size": s.image_size,
        "layer_count": s.layer_count,
        "build_seconds": s.build_seconds,
        "created_at": s.created_at,
        "finished_at": s.finished_at,
        "last_event_seq": s.last_event_seq,
        "failure": failure,
        "results": results,
    }


@api.get(
    "/submissions/{submission_id}",
    response={200: schemas.SubmissionOut, **ERRORS},
    summary="A submission: status, score, results",
    tags=["submissions"],
)
def submission(request: HttpRequest, submission_id: int) -> dict[str, Any]:
    return _submission_out(request, submission_get_for_user(request.user, submission_id))


class EventsQuery(Schema):
    after: int = 0
    limit: int = EVENTS_PAGE


@api.get(
    "/submissions/{submission_id}/events",
    response={200: schemas.EventsOut, **ERRORS},
    summary="A submission's events after a seq",
    tags=["submissions"],
)
def submission_events(request: HttpRequest, submission_id: int, query: Query[EventsQuery]) -> dict[str, Any]:
    """The stored events after `after`, as the websocket replays them, a page at a time."""
    s = submission_get_for_user(request.user, submission_id)
    limit = max(1, min(query.limit, EVENTS_PAGE))
    events = submission_events_after(s.pk, max(0, query.after), limit=limit + 1)
    return {
        "events": [e.as_message() for e in events[:limit]],
        "more": len(events) > limit,
        "finished": s.is_finished,
    }


@api.get(
    "/submissions/{submission_id}/stream",
    response={200: None, **ERRORS},
    summary="A submission's events as Server-Sent Events",
    openapi_extra={
        "responses": {
            200: {
                "description": "Server-Sent Events: `id` the seq, `event` the kind, `data` the event as JSON",
                "content": {
                    "text/event-stream": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "id": {"type": "string"},
                                "event": {"type": "string"},
                                "data": {"type": "string"},
                            },
                            "required": ["data"],
                        }
                    }
                },
            }
        }
    },
    tags=["submissions"],
)
def submission_stream(request: HttpRequest, submission_id: int, after: int = 0) -> StreamingHttpResponse:
    """The events as Server-Sent Events, for clients without websockets: replays what is
    stored after `after` (or `Last-Event-ID`), then each new one, and ends after the final
    status (or after a while: reconnect with `Last-Event-ID`)."""
    s = submission_get_for_user(request.user, submission_id)
    last = request.headers.get("Last-Event-ID", "")
    start = int(last) if last.isdigit() and len(last) < 10 else max(0, after)
    response = StreamingHttpResponse(
        sse.event_stream(s.pk, start, seconds=settings.LAYERLAB_SSE_SECONDS), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # a proxy in front must pass each event on at once
    return response


@api.get(
    "/runs/{run}/assignments/{assignment_id}/gradebook",
    response={200: schemas.GradebookOut, **ERRORS},
    summary="An assignment's gradebook (staff of the run)",
    tags=["staff"],
)
def gradebook(request: HttpRequest, run: str, assignment_id: int) -> dict[str, Any]:
    """Staff of the run: every student's row, as the gradebook's JSON export has it."""
    staffed = run_get_for_staff(request.user, run)
    return gradebook_data(gradebook_for(assignment_get_in_run(staffed, assignment_id)))
