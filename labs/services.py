"""Writes. Views, consumers and tasks only translate input and output; the work is here."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from labs.events import LogBatcher, event_emit
from labs.models import Exercise, Submission, SubmissionEvent
from sandbox import engine, policy
from sandbox.build import BuildRequest, BuildResult, build_image, step_sources
from sandbox.dockerfile import DockerfileSyntaxError, parse
from sandbox.image import image_facts
from sandbox.limits import BuildLimits

log = logging.getLogger(__name__)

Status = Submission.Status
Kind = SubmissionEvent.Kind

OUR_FAULT_RETRY = (
    "We could not grade this submission because of a problem on our side. "
    "It will be retried automatically; you do not need to submit again."
)
OUR_FAULT_FINAL = (
    "We could not grade this submission because of a problem on our side, and retrying did not help. "
    "Course staff have been told; this attempt does not count against you."
)


class RetryLater(Exception):
    """Grading hit our fault and should be retried by the task."""


def submission_create(*, owner: AbstractBaseUser, exercise: Exercise, dockerfile: str) -> Submission:
    text = dockerfile.replace("\r\n", "\n")
    if not text.strip():
        raise ValidationError("The Dockerfile is empty.")
    limit = BuildLimits().dockerfile_cap_bytes
    if len(text.encode("utf-8")) > limit:
        raise ValidationError(f"The Dockerfile is larger than {limit // 1024} KiB.")
    active = Submission.objects.filter(
        owner=owner, status__in=[Status.QUEUED, Status.BUILDING, Status.ANALYSING]
    ).count()
    if active >= settings.LAYERLAB_MAX_ACTIVE_SUBMISSIONS:
        raise ValidationError(
            f"You already have {active} submissions being graded. Wait for one to finish, then submit again."
        )
    recent = Submission.objects.filter(
        owner=owner, created_at__gte=timezone.now() - timedelta(minutes=1)
    ).count()
    if recent >= settings.LAYERLAB_MAX_SUBMISSIONS_PER_MINUTE:
        raise ValidationError(
            f"You have submitted {recent} times in the last minute. Wait a little, then submit again."
        )
    with transaction.atomic():
        submission = Submission.objects.create(owner=owner, exercise=exercise, dockerfile=text)
        event_emit(
            submission_id=submission.pk,
            kind=Kind.STATUS,
            payload={
                "status": Status.QUEUED,
                "message": "Waiting for a build worker.",
                "message_code": "queued",
            },
        )
        transaction.on_commit(lambda: _enqueue(submission.pk))
    return submission


def _enqueue(submission_id: int) -> None:
    from labs.tasks import grade_submission_task

    grade_submission_task.delay(submission_id)


def _set_status(submission: Submission, status: str, *, message: str = "", **extra: Any) -> None:
    submission.status = status
    fields = ["status"]
    if status in Submission.FINISHED:
        submission.finished_at = timezone.now()
        fields.append("finished_at")
    submission.save(update_fields=fields)
    payload: dict[str, Any] = {"status": status, "message": message, **extra}
    event_emit(submission_id=submission.pk, kind=Kind.STATUS, payload=payload)


def _claim(submission_id: int) -> Submission | None:
    """Takes the submission for grading, once. A finished submission is never regraded (a
    redelivered task is a no-op); one that was mid-build when its worker died is retried
    until it has used its attempts."""
    with transaction.atomic():
        submission = Submission.objects.select_for_update().select_related("exercise").get(pk=submission_id)
        if submission.is_finished:
            return None
        submission.attempts += 1
        submission.save(update_fields=["attempts"])
        if submission.attempts > settings.LAYERLAB_MAX_GRADE_ATTEMPTS:
            submission.failure_code = "our_fault"
            submission.failure_message = OUR_FAULT_FINAL
            submission.save(update_fields=["failure_code", "failure_message"])
            _set_status(
                submission, Status.ERROR, message=OUR_FAULT_FINAL, code="our_fault", message_code="our_fault"
            )
            return None
        submission.started_at = timezone.now()
        submission.save(update_fields=["started_at"])
        _set_status(
            submission,
            Status.BUILDING,
            message="Building your image.",
            message_code="building",
            attempt=submission.attempts,
        )
    return submission


def _fail(
    submission: Submission,
    *,
    code: str,
    message: str,
    line: int | None = None,
    output: list[str] | None = None,
    violations: list[dict[str, Any]] | None = None,
) -> None:
    submission.failure_code = code
    submission.failure_message = message
    submission.failure_line = line
    submission.save(update_fields=["failure_code", "failure_message", "failure_line"])
    extra: dict[str, Any] = {"code": code, "line": line}
    if output:
        extra["output"] = output[-60:]
    if violations:
        extra["violations"] = violations
    _set_status(submission, Status.FAILED, message=message, **extra)


def submission_grade(*, submission_id: int) -> None:
    """Builds and measures one submission. Student faults end `failed` with the line and a
    hint; our faults raise RetryLater (the task retries) and end `error` only after the last
    attempt, never blamed on the student."""
    submission = _claim(submission_id)
    if submission is None:
        return
    exercise = submission.exercise
    tag = f"layerlab-sub-{submission.pk}:{uuid.uuid4().hex[:12]}"
    try:
        engine.remove_labelled(engine.LABEL_SUBMISSION, str(submission.pk))
        _grade(submission, exercise, tag)
    except (engine.EngineError, OSError) as exc:
        log.exception("grading submission %s failed on our side", submission.pk)
        _our_fault(submission, exc)
    except Exception as exc:
        log.exception("bug while grading submission %s", submission.pk)
        _our_fault(submission, exc)
    finally:
        try:
            engine.image_remove(tag)
            engine.remove_labelled(engine.LABEL_SUBMISSION, str(submission.pk))
        except engine.EngineError:
            log.exception("could not clean up after submission %s; the reaper will", submission.pk)


def _give_up(submission: Submission) -> None:
    submission.failure_code = "our_fault"
    submission.failure_message = OUR_FAULT_FINAL
    submission.save(update_fields=["failure_code", "failure_message"])
    _set_status(submission, Status.ERROR, message=OUR_FAULT_FINAL, code="our_fault", message_code="our_fault")


def _our_fault(submission: Submission, exc: BaseException) -> None:
    submission.refresh_from_db(fields=["attempts", "status"])
    if submission.attempts >= settings.LAYERLAB_MAX_GRADE_ATTEMPTS:
        submission.failure_code = "our_fault"
        submission.failure_message = OUR_FAULT_FINAL
        submission.save(update_fields=["failure_code", "failure_message"])
        _set_status(
            submission, Status.ERROR, message=OUR_FAULT_FINAL, code="our_fault", message_code="our_fault"
        )
        return
    _set_status(submission, Status.QUEUED, message=OUR_FAULT_RETRY, code="retrying", message_code="retrying")
    raise RetryLater(str(exc)) from exc


def _grade(submission: Submission, exercise: Exercise, tag: str) -> None:
    data = submission.dockerfile.encode("utf-8")
    violations = policy.check_dockerfile(
        data,
        allowed_bases=list(exercise.allowed_base_images),
        engine_supports_heredocs=engine.supports_heredocs(),
    )
    if violations:
        first = violations[0]
        _fail(
            submission,
            code=first.code,
            line=first.line,
            message="\n".join(v.message for v in violations),
            violations=[{"code": v.code, "line": v.line, "message": v.message} for v in violations],
        )
        return
    try:
        parsed = parse(submission.dockerfile)
    except DockerfileSyntaxError as exc:  # policy already reported these; belt and braces
        _fail(submission, code="syntax", line=exc.line, message=str(exc))
        return

    limits = BuildLimits(
        timeout_seconds=float(exercise.build_timeout_seconds),
        log_cap_bytes=settings.LAYERLAB_LOG_CAP_BYTES,
        context_cap_bytes=settings.LAYERLAB_CONTEXT_CAP_BYTES,
        image_cap_bytes=settings.LAYERLAB_IMAGE_CAP_BYTES,
    )
    batcher = LogBatcher(submission.pk)

    def on_event(event: dict[str, Any]) -> None:
        if event["kind"] == "log":
            batcher.add(event["step"], event["line"], truncated=bool(event.get("truncated")))
            return
        batcher.flush()
        payload = {k: v for k, v in event.items() if k != "kind"}
        event_emit(submission_id=submission.pk, kind=Kind.STEP, payload=payload)

    request = BuildRequest(
        dockerfile=submission.dockerfile,
        context_files=exercise.context_files,
        tag=tag,
        labels={engine.LABEL_SUBMISSION: str(submission.pk)},
        limits=limits,
        sources=step_sources(parsed),
    )
    try:
        result = build_image(request, on_event, on_idle=batcher.tick)
    finally:
        batcher.flush()
    submission.build_seconds = result.seconds
    submission.save(update_fields=["build_seconds"])
    if not result.ok:
        _fail_build(submission, result)
        return

    _set_status(submission, Status.ANALYSING, message="Measuring your image.", message_code="analysing")
    facts = image_facts(tag)
    submission.image_id = facts.id
    submission.image_size = facts.size
    submission.layer_count = facts.layer_count
    submission.save(update_fields=["image_id", "image_size", "layer_count"])
    _set_status(
        submission,
        Status.DONE,
        message="Built and measured.",
        message_code="done",
        image_size=facts.size,
        layer_count=facts.layer_count,
        build_seconds=round(result.seconds, 2),
        user=facts.user,
    )


def _fail_build(submission: Submission, result: BuildResult) -> None:
    _fail(submission, code=result.code, message=result.message, line=result.line, output=result.output)


def leftovers_reap(*, older_than_seconds: float) -> dict[str, int]:
    try:
        removed = engine.remove_labelled(engine.LABEL_SUBMISSION, older_than_seconds=older_than_seconds)
    except engine.EngineError:
        log.exception("reaper could not reach the engine")
        return {"containers": 0, "images": 0}
    if any(removed.values()):
        log.info("reaped leftovers: %s", removed)
    return removed
