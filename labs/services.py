"""Writes. Views, consumers and tasks only translate input and output; the work is here."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import redis
from celery import current_app
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from courses.models import CourseRun, Membership
from labs import hosts, logs, pipeline
from labs.assets import asset_read
from labs.events import LogBatcher, event_emit, gradebook_changed
from labs.grading.catalogue import korean
from labs.grading.rubric import rubric_from_data
from labs.models import (
    Assignment,
    AssignmentExercise,
    Exercise,
    Extension,
    Grading,
    Regrade,
    RegradeItem,
    Submission,
    SubmissionEvent,
)
from labs.pipeline import ExerciseSpec
from labs.selectors import assignment_standing, regrade_submission_ids, standing_refusal_text
from sandbox import cgroups, engine
from sandbox.limits import BuildLimits
from sandbox.network import build_network
from sandbox.rewrite import cache_namespace

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


def submission_create(
    *,
    owner: AbstractBaseUser,
    exercise: Exercise,
    dockerfile: str,
    dockerignore: str = "",
    assignment: Assignment | None = None,
    trial: str = Submission.Trial.NONE,
) -> Submission:
    """Queues a submission for grading, or refuses it (ValidationError, with the rule's code)
    before anything is written. An assignment's rules are checked under a lock on the
    student's membership row, so two requests for the last attempt cannot both pass. A staff
    `trial` is never made for an assignment: it counts nowhere."""
    if trial and assignment is not None:
        raise ValueError("a trial submission is never made for an assignment")
    text = dockerfile.replace("\r\n", "\n")
    ignore = dockerignore.replace("\r\n", "\n")
    if len(ignore.encode("utf-8")) > 16 * 1024:
        raise ValidationError(_("The .dockerignore is larger than 16 KiB."), code="too_large")
    if not text.strip():
        raise ValidationError(_("The Dockerfile is empty."), code="empty")
    limit = BuildLimits().dockerfile_cap_bytes
    if len(text.encode("utf-8")) > limit:
        raise ValidationError(
            _("The Dockerfile is larger than %(kib)s KiB.") % {"kib": limit // 1024}, code="too_large"
        )
    _check_pace(owner, exercise)
    with transaction.atomic():
        if assignment is not None:
            _check_assignment(owner, exercise, assignment)
        submission = Submission.objects.create(
            owner=owner,
            exercise=exercise,
            assignment=assignment,
            trial=trial,
            dockerfile=text,
            dockerignore=ignore,
            enqueued_at=timezone.now(),
        )
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


def _check_pace(owner: AbstractBaseUser, exercise: Exercise) -> None:
    """A student waits for their own builds, never the class for one student: a few queued at
    once (built one at a time), and a per-exercise rate that counts what the exercise's own
    history shows."""
    active = Submission.objects.filter(owner=owner, status__in=Submission.ACTIVE).count()
    if active >= settings.LAYERLAB_MAX_ACTIVE_SUBMISSIONS:
        raise ValidationError(
            _(
                "You already have %(count)s submissions waiting or being graded. "
                "Wait for one to finish, then submit again."
            )
            % {"count": active},
            code="queue_full",
        )
    window = timedelta(minutes=1)
    recent = list(
        Submission.objects.filter(owner=owner, exercise=exercise, created_at__gte=timezone.now() - window)
        .order_by("created_at")
        .values_list("created_at", flat=True)
    )
    cap = settings.LAYERLAB_MAX_SUBMISSIONS_PER_MINUTE
    if len(recent) >= cap:
        wait = max(1, int((recent[-cap] + window - timezone.now()).total_seconds()) + 1)
        raise ValidationError(
            _(
                "You have submitted to this exercise %(count)s times in the last minute. "
                "Try again in %(seconds)s s."
            )
            % {"count": len(recent), "seconds": wait},
            code="rate_limited",
            params={"retry_after": wait},
        )


def _check_assignment(owner: AbstractBaseUser, exercise: Exercise, assignment: Assignment) -> None:
    membership = (
        Membership.objects.select_for_update().filter(run_id=assignment.run_id, user_id=owner.pk).first()
    )
    if membership is None:
        raise ValidationError(_("You are not enrolled in this course run."), code="not_member")
    if not assignment.items.filter(exercise=exercise).exists():
        raise ValidationError(_("This exercise is not part of the assignment."), code="not_in_assignment")
    standing = assignment_standing(user=owner, assignment=assignment, exercise=exercise)
    if standing.refusal is not None:
        raise ValidationError(standing_refusal_text(standing), code=standing.refusal.code)


GRADE_TASK = "labs.tasks.grade_submission_task"
REGRADE_TASK = "labs.tasks.regrade_item_task"


def _enqueue(submission_id: int) -> None:
    # By name, so services need not import the tasks that call them (the routes put it on "sandbox").
    try:
        current_app.send_task(GRADE_TASK, args=[submission_id])
    except Exception:
        # The broker is away: the submission is stored and queued, and the sweep sends it again
        # (at once when the broker restarted empty, else after LAYERLAB_QUEUE_RESEND_SECONDS).
        log.exception("could not send submission %s to the broker", submission_id)


def _set_status(submission: Submission, status: str, *, message: str = "", **extra: Any) -> None:
    submission.status = status
    fields = ["status"]
    if status in Submission.FINISHED:
        submission.finished_at = timezone.now()
        fields.append("finished_at")
    submission.save(update_fields=fields)
    payload: dict[str, Any] = {"status": status, "message": message, **extra}
    event_emit(submission_id=submission.pk, kind=Kind.STATUS, payload=payload)
    if submission.assignment_id and (status in Submission.FINISHED or status == Status.HELD):
        gradebook_changed(assignment_id=submission.assignment_id, user_id=submission.owner_id)


class Busy(Exception):
    """Another worker shows signs of life on this submission; try again once it may have died."""


class WrongHost(Exception):
    """This build host lacks what the exercise needs; `queue` is a host's that has it (None: no
    live host has it yet, offer it again later). Never an attempt, never the student's."""

    def __init__(self, lack: str, queue: str | None) -> None:
        super().__init__(lack)
        self.queue = queue


class OwnerBusy(Busy):
    """The student has another build running; this one waits for it."""


def _claim(submission_id: int) -> Submission | None:
    """Takes the submission for grading, once. A finished or held submission is never taken (a
    redelivered task is a no-op); one that is being built by a live worker is left to it (Busy);
    one whose worker stopped giving signs of life is retried until it has used its attempts."""
    with transaction.atomic():
        submission = Submission.objects.select_for_update().select_related("exercise").get(pk=submission_id)
        if submission.is_finished or submission.status == Status.HELD:
            return None
        if submission.status in (Status.BUILDING, Status.ANALYSING) and _alive(submission):
            raise Busy(f"submission {submission_id} is being graded by a live worker")
        # One build per student at a time: the owner's row is the lock, so two workers cannot
        # both start one; the later submission waits its turn in the queue.
        get_user_model().objects.select_for_update().filter(pk=submission.owner_id).first()
        building = Submission.objects.filter(
            owner_id=submission.owner_id, status__in=[Status.BUILDING, Status.ANALYSING]
        ).exclude(pk=submission.pk)
        if any(_alive(other) for other in building):
            raise OwnerBusy(f"the owner of submission {submission_id} has another build running")
        submission.attempts += 1
        submission.save(update_fields=["attempts"])
        if submission.attempts > settings.LAYERLAB_MAX_GRADE_ATTEMPTS:
            _give_up(submission)
            return None
        submission.started_at = submission.heartbeat_at = timezone.now()
        submission.build_host = settings.LAYERLAB_BUILD_HOST
        submission.save(update_fields=["started_at", "heartbeat_at", "build_host"])
        _set_status(
            submission,
            Status.BUILDING,
            message="Building your image.",
            message_code="building",
            attempt=submission.attempts,
        )
    return submission


NO_HOST_MESSAGE = (
    "Waiting for a build host that can build this exercise; the staff have been told. "
    "This does not count against you."
)


def _check_host(submission_id: int) -> None:
    """Raises WrongHost when this host cannot build the submission's exercise, before the
    submission is taken: no attempt is used and nothing is blamed on the student."""
    submission = Submission.objects.select_related("exercise").get(pk=submission_id)
    if submission.is_finished or submission.status == Status.HELD:
        return
    if submission.status in (Status.BUILDING, Status.ANALYSING) and _alive(submission):
        return  # another host's worker has it: _claim says Busy
    lack = hosts.build_host_lacks(submission.exercise)
    if not lack:
        return
    other = hosts.build_host_for(submission.exercise)
    log.warning(
        "build host %s cannot grade exercise %s (%s); %s",
        settings.LAYERLAB_BUILD_HOST,
        submission.exercise.slug,
        lack,
        f"passing it to {other.name}" if other else "no live host can: offering it again later",
    )
    last = submission.events.filter(kind=SubmissionEvent.Kind.STATUS).last()
    if other is None and (last is None or last.payload.get("code") != "no_host"):
        _set_status(
            submission, Status.QUEUED, message=NO_HOST_MESSAGE, code="no_host", message_code="no_host"
        )
    raise WrongHost(lack, other.queue if other else None)


def _alive(submission: Submission) -> bool:
    beat = submission.heartbeat_at
    stale = timedelta(seconds=settings.LAYERLAB_HEARTBEAT_STALE_SECONDS)
    return beat is not None and timezone.now() - beat < stale


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
    extra: dict[str, Any] = {"code": code, "line": line, "message_ko": korean(code, message, line=line)}
    if output:
        extra["output"] = output[-60:]
    if violations:
        extra["violations"] = [
            {**v, "message_ko": korean(v["code"], v["message"], v.get("params"), v.get("line"))}
            for v in violations
        ]
        extra["message_ko"] = "\n".join(v["message_ko"] for v in extra["violations"])
    _finish(submission, Status.FAILED, message=message, **extra)


def _finish(submission: Submission, status: str, *, message: str, **extra: Any) -> None:
    """The final status and its grading record are one commit: whoever sees the end (a page,
    a test, a client) also finds it in the history."""
    with transaction.atomic():
        _set_status(submission, status, message=message, **extra)
        _record_grading(submission)


def submission_grade(*, submission_id: int) -> None:
    """Builds and measures one submission. Student faults end `failed` with the line and a
    hint; the exercise's end `held` until its authors fix it; our faults raise RetryLater (the
    task retries) and end `error` only after the last attempt, never blamed on the student.
    Whatever happens, the engine is left clean and the submission in a state something moves
    on: finished, held, or queued with a retry on its way (and the sweep behind that)."""
    with logs.grading(submission_id):
        if not Submission.objects.filter(pk=submission_id).exists():
            log.info("submission %s no longer exists: nothing to grade", submission_id)
            return
        _check_host(submission_id)
        submission = _claim(submission_id)
        if submission is None:
            return
        try:
            _grade(submission)
        except pipeline.ExerciseFault as fault:
            _hold(submission, fault)
        except Exception as exc:
            log.exception("grading submission %s failed on our side", submission.pk)
            _our_fault(submission, exc)


def _give_up(submission: Submission) -> None:
    submission.failure_code = "our_fault"
    submission.failure_message = OUR_FAULT_FINAL
    submission.save(update_fields=["failure_code", "failure_message"])
    _set_status(submission, Status.ERROR, message=OUR_FAULT_FINAL, code="our_fault", message_code="our_fault")


def _our_fault(submission: Submission, exc: BaseException) -> None:
    submission.refresh_from_db(fields=["attempts", "status"])
    if submission.attempts >= settings.LAYERLAB_MAX_GRADE_ATTEMPTS:
        _give_up(submission)
        return
    submission.enqueued_at = timezone.now()
    submission.save(update_fields=["enqueued_at"])
    _set_status(submission, Status.QUEUED, message=OUR_FAULT_RETRY, code="retrying", message_code="retrying")
    raise RetryLater(str(exc)) from exc


HELD_MESSAGE = (
    "This exercise has a problem that its authors must fix, and they have been told. Your "
    "submission is kept and will be graded as soon as it is fixed; it does not count against you."
)


def _hold(submission: Submission, fault: pipeline.ExerciseFault) -> None:
    """The exercise is broken: the student is told so in their terms, the staff get the detail
    on the exercise, and the submission waits for `exercise_problem_clear`."""
    log.error("exercise %s is broken (%s): %s", submission.exercise.slug, fault.kind, fault.detail)
    Exercise.objects.filter(pk=submission.exercise_id).update(
        problem=f"{fault.kind}: {fault.detail}", problem_at=timezone.now()
    )
    submission.failure_code = f"exercise_{fault.kind}"
    submission.failure_message = HELD_MESSAGE
    submission.failure_line = None
    submission.save(update_fields=["failure_code", "failure_message", "failure_line"])
    _set_status(
        submission,
        Status.HELD,
        message=HELD_MESSAGE,
        message_ko=korean("held", HELD_MESSAGE),
        code="held",
        message_code="held",
    )


def exercise_problem_clear(*, exercise: Exercise) -> int:
    """The exercise was fixed (re-imported or by staff): its problem note goes and every held
    submission is graded again. Returns how many were requeued."""
    Exercise.objects.filter(pk=exercise.pk).update(problem="", problem_at=None)
    held = list(Submission.objects.filter(exercise=exercise, status=Status.HELD).values_list("pk", flat=True))
    for pk in held:
        with transaction.atomic():
            submission = Submission.objects.select_for_update().get(pk=pk)
            if submission.status != Status.HELD:
                continue
            submission.attempts = 0
            submission.failure_code = submission.failure_message = ""
            submission.save(update_fields=["attempts", "failure_code", "failure_message"])
            _requeue(
                submission, message="The exercise was fixed: grading your submission now.", code="released"
            )
    return len(held)


def _requeue(submission: Submission, *, message: str, code: str) -> None:
    submission.enqueued_at = timezone.now()
    submission.save(update_fields=["enqueued_at"])
    _set_status(submission, Status.QUEUED, message=message, code=code, message_code=code)
    transaction.on_commit(lambda: _enqueue(submission.pk))


def _broker_mark() -> str:
    return f"{settings.LAYERLAB_BROKER_PREFIX}layerlab:broker-mark"


def broker_restarted() -> bool:
    """Whether the broker lost what it held since the last sweep (Redis restarted without
    persistence, or was flushed): the mark this leaves there is gone. Every queued task may
    have gone with it, so the sweep sends them all again at once instead of after
    LAYERLAB_QUEUE_RESEND_SECONDS. True on the first sweep too (a duplicate task is a no-op)."""
    try:
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=5)
        return bool(client.set(_broker_mark(), timezone.now().isoformat(), nx=True))
    except redis.RedisError:
        return False  # the broker is away: nothing can be sent now anyway


def submission_sweep(*, resend_all: bool = False) -> dict[str, int]:
    """Moves on every submission nothing else will: one whose worker stopped giving signs of
    life (requeued, or ended as ours once it has used its attempts), and one queued so long
    ago (or at all, with `resend_all`: the broker restarted) that its task may have been lost
    with the broker (sent again; a duplicate is a no-op)."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.LAYERLAB_HEARTBEAT_STALE_SECONDS)
    resend = now if resend_all else now - timedelta(seconds=settings.LAYERLAB_QUEUE_RESEND_SECONDS)
    moved = {"requeued": 0, "ended": 0, "resent": 0}
    stuck = Submission.objects.filter(status__in=[Status.BUILDING, Status.ANALYSING]).filter(
        models.Q(heartbeat_at__lt=stale) | models.Q(heartbeat_at__isnull=True, started_at__lt=stale)
    )
    for pk in stuck.values_list("pk", flat=True):
        with transaction.atomic():
            submission = Submission.objects.select_for_update().get(pk=pk)
            if submission.status not in (Status.BUILDING, Status.ANALYSING) or _alive(submission):
                continue
            if submission.attempts >= settings.LAYERLAB_MAX_GRADE_ATTEMPTS:
                _give_up(submission)
                moved["ended"] += 1
            else:
                _requeue(submission, message=OUR_FAULT_RETRY, code="retrying")
                moved["requeued"] += 1
    lost = Submission.objects.filter(status=Status.QUEUED).filter(
        models.Q(enqueued_at__lt=resend) | models.Q(enqueued_at__isnull=True, created_at__lt=resend)
    )
    for pk in lost.values_list("pk", flat=True):
        Submission.objects.filter(pk=pk).update(enqueued_at=now)
        transaction.on_commit(lambda pk=pk: _enqueue(pk))
        moved["resent"] += 1
    if any(moved.values()):
        log.warning("sweep moved stuck submissions: %s", moved)
    return moved


def cache_namespace_for(owner: str) -> str:
    """The namespace of one owner's build caches, keyed by LAYERLAB_CACHE_KEY so it cannot be
    guessed from a user id."""
    return cache_namespace(settings.LAYERLAB_CACHE_KEY.encode(), owner)


def exercise_spec(exercise: Exercise) -> ExerciseSpec:
    return spec_make(
        slug=exercise.slug,
        context_files=exercise.context_files,
        assets=exercise.assets or [],
        allowed_base_images=exercise.allowed_base_images,
        build_timeout_seconds=exercise.build_timeout_seconds,
        rubric=exercise.rubric,
        behaviour_tests=exercise.behaviour_tests,
        reference_size=exercise.reference_image_size,
        network=exercise.network,
        benchmark=exercise.benchmark,
    )


def spec_make(
    *,
    slug: str,
    context_files: Mapping[str, str],
    assets: list[dict[str, Any]],
    allowed_base_images: list[str],
    build_timeout_seconds: int,
    rubric: dict[str, Any],
    behaviour_tests: dict[str, Any],
    reference_size: int | None,
    network: str,
    benchmark: dict[str, Any],
) -> ExerciseSpec:
    """The grading spec from plain exercise data (a database row or a course folder)."""
    files: dict[str, str | bytes] = dict(context_files)
    for asset in assets:
        files[asset["path"]] = asset_read(asset)
    return ExerciseSpec(
        context_files=files,
        allowed_bases=tuple(allowed_base_images),
        limits=BuildLimits(
            timeout_seconds=float(build_timeout_seconds),
            log_cap_bytes=settings.LAYERLAB_LOG_CAP_BYTES,
            context_cap_bytes=settings.LAYERLAB_CONTEXT_CAP_BYTES,
            image_cap_bytes=settings.LAYERLAB_IMAGE_CAP_BYTES,
            disk_cap_bytes=settings.LAYERLAB_BUILD_DISK_CAP_BYTES,
            engine_min_free_bytes=settings.LAYERLAB_ENGINE_MIN_FREE_BYTES,
            pids_max=settings.LAYERLAB_BUILD_PIDS_MAX // max(1, settings.LAYERLAB_BUILD_CONCURRENCY),
            memory_max_bytes=settings.LAYERLAB_BUILD_MEMORY_MAX
            // max(1, settings.LAYERLAB_BUILD_CONCURRENCY),
            cgroup_parent=settings.LAYERLAB_CGROUP,
        ),
        rubric=rubric_from_data(rubric, filename=f"exercise {slug}") if rubric else None,
        behaviour_tests=behaviour_tests or {},
        reference_size=reference_size,
        network=build_network(network, settings.LAYERLAB_PACKAGE_PROXY),
        benchmark=benchmark or {},
    )


class SubmissionSink:
    """Stores every step, log batch, check and score of one submission as events (then pushed)."""

    def __init__(self, submission: Submission) -> None:
        self.submission = submission
        self.batcher = LogBatcher(submission.pk)
        self.last_beat = time.monotonic()

    def _emit(self, kind: str, payload: dict[str, Any]) -> None:
        self.batcher.flush()
        event_emit(submission_id=self.submission.pk, kind=kind, payload=payload)

    def status(self, status: str, message: str, message_code: str, **extra: Any) -> None:
        self.batcher.flush()
        _set_status(self.submission, status, message=message, message_code=message_code, **extra)

    def step(self, payload: dict[str, Any]) -> None:
        self._emit(Kind.STEP, payload)

    def log(self, step: str, line: str, truncated: bool) -> None:
        self.batcher.add(step, line, truncated=truncated)

    def idle(self) -> None:
        self.batcher.tick()
        now = time.monotonic()
        if now - self.last_beat >= settings.LAYERLAB_HEARTBEAT_SECONDS:
            self.last_beat = now
            Submission.objects.filter(pk=self.submission.pk).update(heartbeat_at=timezone.now())

    def check(self, payload: dict[str, Any]) -> None:
        self._emit(Kind.CHECK, payload)

    def score(self, payload: dict[str, Any]) -> None:
        self._emit(Kind.SCORE, payload)


def _run_pipeline(submission: Submission, *, scope_name: str, sink: pipeline.Sink) -> pipeline.Outcome:
    """Grades the submission's Dockerfile against its exercise as it is now. The scope's
    clean-up runs before this returns: whoever sees the result sees a clean engine."""
    with engine.build_scope(scope_name) as scope:
        return pipeline.grade(
            spec=exercise_spec(submission.exercise),
            dockerfile=submission.dockerfile,
            dockerignore=submission.dockerignore,
            tag=scope.tag,
            labels=scope.labels,
            sink=sink,
            cache_namespace=cache_namespace_for(f"user:{submission.owner_id}"),
            as_reference=submission.trial == Submission.Trial.SOLUTION,
        )


def _grade(submission: Submission) -> None:
    sink = SubmissionSink(submission)
    try:
        outcome = _run_pipeline(submission, scope_name=str(submission.pk), sink=sink)
    finally:
        sink.batcher.flush()
    submission.build_seconds = outcome.build_seconds or None
    submission.results = [r.as_dict() for r in outcome.results]
    submission.save(update_fields=["build_seconds", "results"])
    if outcome.failure is not None:
        f = outcome.failure
        _fail(
            submission,
            code=f.code,
            message=f.message,
            line=f.line,
            output=list(f.output),
            violations=list(f.violations),
        )
        return
    facts = outcome.facts
    assert facts is not None and outcome.score is not None
    submission.image_id = facts.id
    submission.image_size = facts.size
    submission.layer_count = facts.layer_count
    submission.score = outcome.score.total
    # Kept before the final status is sent: the page fetches the layers when it sees it.
    submission.layers = outcome.layers or {}
    submission.save(update_fields=["image_id", "image_size", "layer_count", "score", "layers"])
    if submission.trial == Submission.Trial.SOLUTION:  # as check_course records it
        Exercise.objects.filter(pk=submission.exercise_id, solution_dockerfile=submission.dockerfile).update(
            reference_image_size=facts.size
        )
    _finish(
        submission,
        Status.DONE,
        message="Built and measured.",
        message_code="done",
        image_size=facts.size,
        layer_count=facts.layer_count,
        build_seconds=round(outcome.build_seconds, 2),
        user=facts.user,
        score=outcome.score.total,
    )


def leftovers_reap(*, older_than_seconds: float) -> dict[str, int]:
    # A build's cgroup is reaped only once no build could still be using it, whatever the age
    # asked for containers and images: killing a live build's processes would fail it.
    longest = settings.LAYERLAB_TASK_TIME_LIMIT + 120
    cgroups_removed = cgroups.reap(settings.LAYERLAB_CGROUP, max(older_than_seconds, longest))
    try:
        removed = engine.remove_labelled(engine.LABEL_SUBMISSION, older_than_seconds=older_than_seconds)
    except engine.EngineError:
        log.exception("reaper could not reach the engine")
        return {"containers": 0, "images": 0, "cgroups": cgroups_removed}
    removed["cgroups"] = cgroups_removed
    if any(removed.values()):
        log.info("reaped leftovers: %s", removed)
    return removed


def _record_grading(
    submission: Submission, *, source: str = Grading.Source.GRADING, regrade: Regrade | None = None
) -> None:
    """Every result a submission gets is kept, so a regrade never erases what came before."""
    Grading.objects.create(
        submission=submission,
        source=source,
        regrade=regrade,
        status=submission.status,
        score=submission.score,
        results=submission.results,
        image_size=submission.image_size,
    )
    if submission.assignment_id:
        gradebook_changed(assignment_id=submission.assignment_id, user_id=submission.owner_id)


class QuietSink:
    """A regrade's sink: the student's stream is not touched, nothing is shown live."""

    def status(self, status: str, message: str, message_code: str, **extra: Any) -> None:
        pass

    def step(self, payload: dict[str, Any]) -> None:
        pass

    def log(self, step: str, line: str, truncated: bool) -> None:
        pass

    def idle(self) -> None:
        pass

    def check(self, payload: dict[str, Any]) -> None:
        pass

    def score(self, payload: dict[str, Any]) -> None:
        pass


def regrade_start(*, assignment: Assignment, by: AbstractBaseUser | None, reason: str = "") -> Regrade:
    """Regrades, in the background and without changing anything yet, what counts or may count
    for each student and exercise (`regrade_submission_ids`). Staff look at the preview, then
    apply it or not."""
    with transaction.atomic():
        # One regrade per assignment at a time: the assignment's row is the lock, so two
        # instructors starting at once do not both build everything.
        Assignment.objects.select_for_update().filter(pk=assignment.pk).first()
        ids = regrade_submission_ids(assignment)
        Regrade.objects.filter(
            assignment=assignment, status__in=[Regrade.Status.RUNNING, Regrade.Status.READY]
        ).update(status=Regrade.Status.DISCARDED)
        regrade = Regrade.objects.create(assignment=assignment, created_by=by, reason=reason)
        scores = dict(Submission.objects.filter(pk__in=ids).values_list("pk", "score"))
        now = timezone.now()
        items = RegradeItem.objects.bulk_create(
            [
                RegradeItem(regrade=regrade, submission_id=pk, old_score=scores.get(pk), enqueued_at=now)
                for pk in ids
            ]
        )
        if not items:
            regrade.status = Regrade.Status.READY
            regrade.save(update_fields=["status"])
        for item in items:
            transaction.on_commit(lambda pk=item.pk: _enqueue_regrade(pk))
    return regrade


def _enqueue_regrade(item_id: int) -> None:
    try:
        current_app.send_task(REGRADE_TASK, args=[item_id])
    except Exception:
        # The broker is away: the sweep sends it again (`regrade_sweep`); the others still go.
        log.exception("could not send regrade item %s", item_id)


def regrade_item_run(*, item_id: int) -> None:
    """Grades one submission's Dockerfile again against the exercise as it is now. Our faults
    are retried by the task (RetryLater) and end the item as an error after the last try,
    shown to staff; the submission itself is untouched until the regrade is applied."""
    with transaction.atomic():
        item = (
            RegradeItem.objects.select_for_update(of=("self",))
            .select_related("submission__exercise", "regrade")
            .get(pk=item_id)
        )
        if item.status != RegradeItem.Status.PENDING or item.regrade.status != Regrade.Status.RUNNING:
            return
        if item.started_at is not None and timezone.now() - item.started_at < _REGRADE_STALE:
            return  # a live worker has it (a duplicate delivery)
        item.attempts += 1
        item.started_at = timezone.now()
        item.save(update_fields=["attempts", "started_at"])
    if item.attempts > settings.LAYERLAB_MAX_GRADE_ATTEMPTS:
        _regrade_item_end(
            item, status=RegradeItem.Status.ERROR, message="could not regrade: a worker was lost each time"
        )
        return
    submission = item.submission
    try:
        with logs.grading(submission.pk):
            outcome = _run_pipeline(submission, scope_name=f"regrade-{item.pk}", sink=QuietSink())
    except pipeline.ExerciseFault as fault:
        _regrade_item_end(item, status=RegradeItem.Status.ERROR, message=f"{fault.kind}: {fault.detail}")
        return
    except Exception as exc:
        log.exception("regrading submission %s failed on our side", submission.pk)
        RegradeItem.objects.filter(pk=item.pk).update(started_at=None)  # free for the retry
        raise RetryLater(str(exc)) from exc
    if outcome.failure is not None:
        _regrade_item_end(
            item,
            status=RegradeItem.Status.DONE,
            new_status=Status.FAILED,
            new_score=None,
            new_results=[r.as_dict() for r in outcome.results],
            message=outcome.failure.message,
        )
        return
    assert outcome.facts is not None and outcome.score is not None
    _regrade_item_end(
        item,
        status=RegradeItem.Status.DONE,
        new_status=Status.DONE,
        new_score=outcome.score.total,
        new_results=[r.as_dict() for r in outcome.results],
        new_image_size=outcome.facts.size,
    )


_REGRADE_STALE = timedelta(seconds=settings.LAYERLAB_TASK_TIME_LIMIT + 120)


def regrade_sweep(*, resend_all: bool = False) -> int:
    """Sends again every waiting item of a running regrade whose task may be lost (sent long
    ago, or at all with `resend_all`, and not started, or started by a worker that has been gone
    longer than any grading takes). A duplicate is a no-op; an item taken too often ends as an
    error. Returns how many."""
    now = timezone.now()
    resend = now if resend_all else now - timedelta(seconds=settings.LAYERLAB_QUEUE_RESEND_SECONDS)
    lost = RegradeItem.objects.filter(
        status=RegradeItem.Status.PENDING, regrade__status=Regrade.Status.RUNNING, enqueued_at__lt=resend
    ).filter(models.Q(started_at__isnull=True) | models.Q(started_at__lt=now - _REGRADE_STALE))
    ids = list(lost.values_list("pk", flat=True))
    for pk in ids:
        RegradeItem.objects.filter(pk=pk).update(enqueued_at=now)
        transaction.on_commit(lambda pk=pk: _enqueue_regrade(pk))
    return len(ids)


def regrade_item_give_up(*, item_id: int, message: str) -> None:
    item = RegradeItem.objects.select_related("regrade").get(pk=item_id)
    if item.status == RegradeItem.Status.PENDING:
        _regrade_item_end(item, status=RegradeItem.Status.ERROR, message=message)


def _regrade_item_end(item: RegradeItem, *, status: str, **fields: Any) -> None:
    with transaction.atomic():
        regrade = Regrade.objects.select_for_update().get(pk=item.regrade_id)
        updated = RegradeItem.objects.filter(pk=item.pk, status=RegradeItem.Status.PENDING).update(
            status=status, finished_at=timezone.now(), **fields
        )
        if not updated or regrade.status != Regrade.Status.RUNNING:
            return
        if not regrade.items.filter(status=RegradeItem.Status.PENDING).exists():
            regrade.status = Regrade.Status.READY
            regrade.save(update_fields=["status"])


def regrade_apply(*, regrade: Regrade) -> int:
    """Makes the preview the gradebook's: each regraded submission takes its new result, and
    its old one stays in its history. Items that could not be regraded keep their result.
    Returns how many submissions changed."""
    with transaction.atomic():
        regrade = Regrade.objects.select_for_update().get(pk=regrade.pk)
        if regrade.status != Regrade.Status.READY:
            raise ValidationError(_("Only a finished preview can be applied."), code="not_ready")
        changed = 0
        items = regrade.items.filter(status=RegradeItem.Status.DONE).select_related("submission")
        for item in items:
            submission = Submission.objects.select_for_update().get(pk=item.submission_id)
            if not submission.gradings.exists():
                _record_grading(submission)  # graded before histories were kept
            old_score = submission.score
            submission.status = item.new_status
            submission.score = item.new_score
            submission.results = item.new_results
            if item.new_image_size is not None:
                submission.image_size = item.new_image_size
            if item.new_status == Status.DONE:
                submission.failure_code = submission.failure_message = ""
                submission.failure_line = None
            else:
                submission.failure_code, submission.failure_message = "regraded", item.message
            submission.save(
                update_fields=[
                    "status",
                    "score",
                    "results",
                    "image_size",
                    "failure_code",
                    "failure_message",
                    "failure_line",
                ]
            )
            _record_grading(submission, source=Grading.Source.REGRADE, regrade=regrade)
            _tell_regraded(submission, old_score)
            changed += 1
        regrade.status = Regrade.Status.APPLIED
        regrade.applied_at = timezone.now()
        regrade.save(update_fields=["status", "applied_at"])
    return changed


def _tell_regraded(submission: Submission, old_score: float | None) -> None:
    """The submission's own page follows its events: it hears of the new result too."""
    new = "-" if submission.score is None else f"{submission.score:.1f}"
    was = "-" if old_score is None else f"{old_score:.1f}"
    if new == was:
        message, korean_text = (
            f"Regraded after the exercise changed: still {new}.",
            f"실습이 바뀌어 다시 채점했습니다: 그대로 {new}점.",
        )
    else:
        message, korean_text = (
            f"Regraded after the exercise changed: {new} (was {was}).",
            f"실습이 바뀌어 다시 채점했습니다: {new}점 (이전 {was}점).",
        )
    event_emit(
        submission_id=submission.pk,
        kind=Kind.STATUS,
        payload={
            "status": submission.status,
            "message": message,
            "message_ko": korean_text,
            "message_code": "regraded",
            "code": "regraded",
            "image_size": submission.image_size,
            "layer_count": submission.layer_count,
            "build_seconds": submission.build_seconds,
            "score": submission.score,
        },
    )
    if submission.score is not None:
        event_emit(
            submission_id=submission.pk,
            kind=Kind.SCORE,
            payload={"score": submission.score, "regraded": True},
        )


def assignment_save(
    *,
    run: CourseRun,
    assignment: Assignment | None,
    title: str,
    title_en: str,
    exercises: list[Exercise],
    opens_at: datetime,
    due_at: datetime,
    late_until: datetime | None,
    late_penalty: str,
    late_penalty_percent: Decimal,
    late_penalty_cap_percent: Decimal | None,
    max_attempts: int | None,
    min_interval_seconds: int,
    counting: str,
) -> Assignment:
    """Creates an assignment of the run, or changes one, with its exercises in the given order.
    An exercise that already has submissions for the assignment stays in it: removing it would
    drop graded work from the gradebook."""
    if not exercises:
        raise ValidationError({"exercises": _("Choose at least one exercise.")}, code="no_exercises")
    if any(e.course_id != run.course_id for e in exercises):
        raise ValidationError({"exercises": _("Only exercises of the run's course.")}, code="wrong_course")
    with transaction.atomic():
        if assignment is None:
            assignment = Assignment(run=run)
        elif assignment.run_id != run.pk:
            raise ValidationError(_("This assignment belongs to another run."), code="wrong_run")
        assignment.title = title
        assignment.title_en = title_en
        assignment.opens_at = opens_at
        assignment.due_at = due_at
        assignment.late_until = late_until
        assignment.late_penalty = late_penalty
        assignment.late_penalty_percent = late_penalty_percent
        assignment.late_penalty_cap_percent = late_penalty_cap_percent
        assignment.max_attempts = max_attempts
        assignment.min_interval_seconds = min_interval_seconds
        assignment.counting = counting
        assignment.full_clean()
        assignment.save()
        wanted = [e.pk for e in exercises]
        dropped = assignment.items.exclude(exercise_id__in=wanted)
        kept = Submission.objects.filter(
            assignment=assignment, exercise_id__in=dropped.values("exercise_id")
        ).values_list("exercise__title", flat=True)
        if kept:
            raise ValidationError(
                {
                    "exercises": _("“%(title)s” has submissions for this assignment; it stays in it.")
                    % {"title": sorted(set(kept))[0]}
                },
                code="has_submissions",
            )
        dropped.delete()
        for position, pk in enumerate(wanted):
            AssignmentExercise.objects.update_or_create(
                assignment=assignment, exercise_id=pk, defaults={"position": position}
            )
    return assignment


def extension_grant(
    *,
    assignment: Assignment,
    user_id: int,
    due_at: datetime,
    late_until: datetime | None = None,
    extra_attempts: int = 0,
    reason: str = "",
) -> Extension:
    """Gives one student of the run their own due time (and late window, and extra attempts),
    replacing an extension they had. Their open gradebook rows are told."""
    if not Membership.objects.filter(
        run_id=assignment.run_id, user_id=user_id, role=Membership.Role.STUDENT
    ).exists():
        raise ValidationError({"user": _("Not a student of this run.")}, code="not_student")
    if due_at <= assignment.opens_at:
        raise ValidationError(
            {"due_at": _("The due time must come after the opening time.")}, code="due_before_open"
        )
    if late_until is not None and late_until <= due_at:
        raise ValidationError(
            {"late_until": _("The late window must end after the due time.")}, code="late_before_due"
        )
    with transaction.atomic():
        extension, _created = Extension.objects.update_or_create(
            assignment=assignment,
            user_id=user_id,
            defaults={
                "due_at": due_at,
                "late_until": late_until,
                "extra_attempts": extra_attempts,
                "reason": reason,
            },
        )
        gradebook_changed(assignment_id=assignment.pk, user_id=user_id)
    return extension


def extension_revoke(*, extension: Extension) -> None:
    with transaction.atomic():
        assignment_id, user_id = extension.assignment_id, extension.user_id
        extension.delete()
        gradebook_changed(assignment_id=assignment_id, user_id=user_id)


@functools.cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)


def lint_rate_take(*, user: AbstractBaseUser) -> int:
    """Counts one static check of a draft against the user's allowance per minute. Returns 0
    when it may run, else the seconds until the next minute starts."""
    return rate_take(key=f"lint:{user.pk}", limit=settings.LAYERLAB_LINT_PER_MINUTE)


def rate_take(*, key: str, limit: int) -> int:
    """Counts one use of `key` against `limit` a minute (kept in Redis, so every web process
    shares it). Returns 0 when it may go on, else the seconds until the next minute starts.
    Redis unreachable: it goes on (what it guards is bounded anyway)."""
    window = int(time.time() // 60)
    name = f"{settings.LAYERLAB_REDIS_PREFIX}:rate:{key}:{window}"
    try:
        pipe = _redis().pipeline()
        pipe.incr(name)
        pipe.expire(name, 120)
        count = int(pipe.execute()[0])
    except redis.RedisError:
        log.warning("rate limit %s: Redis unreachable, not counted", key)
        return 0
    if count > limit:
        return max(1, 60 - int(time.time() % 60))
    return 0
