from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

DEFAULT_BASE_IMAGES = [
    "debian:bookworm-slim",
    "python:3.11-slim",
    "node:18-bookworm-slim",
    "golang:1.19-bookworm",
    "scratch",
]


def default_base_images() -> list[str]:
    return list(DEFAULT_BASE_IMAGES)


class Exercise(models.Model):
    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="exercises")
    session = models.ForeignKey("courses.Session", on_delete=models.CASCADE, related_name="exercises")
    slug = models.SlugField(help_text="Unique within the course.")
    title = models.CharField(max_length=200)
    title_en = models.CharField(max_length=200, blank=True)
    instructions_md = models.TextField(blank=True)
    instructions_en = models.TextField(blank=True)
    starter_dockerfile = models.TextField(blank=True)
    context_files = models.JSONField(
        default=dict, blank=True, help_text="Path → text of the app the student containerises."
    )
    allowed_base_images = models.JSONField(default=default_base_images)
    build_timeout_seconds = models.PositiveIntegerField(default=300)
    position = models.PositiveIntegerField(default=0)
    solution_dockerfile = models.TextField(blank=True)
    solution_dockerignore = models.TextField(blank=True)
    rubric = models.JSONField(
        default=dict, blank=True, help_text="Validated rubric data; empty = all criteria."
    )
    behaviour_tests = models.JSONField(
        default=dict, blank=True, help_text="container-structure-test spec (schema 2.0.0 field names)."
    )
    network = models.CharField(
        max_length=16,
        choices=[("none", "none"), ("packages", "packages")],
        default="none",
        help_text="none: builds have no network. packages: only the package archives, through the proxy.",
    )
    assets = models.JSONField(
        default=list,
        blank=True,
        help_text="Large context files fetched by `fetch_assets`: [{path, url, sha256, size}].",
    )
    benchmark = models.JSONField(
        default=dict,
        blank=True,
        help_text="Speed check: {command, baseline_dockerfile, runs}; empty = none.",
    )
    reference_image_size = models.BigIntegerField(
        null=True, blank=True, help_text="Bytes of the reference solution's image, measured by building it."
    )
    problem = models.TextField(
        blank=True,
        help_text="What is wrong with the exercise itself (found while grading); its submissions are held.",
    )
    problem_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["course", "slug"], name="exercise_unique_slug")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("labs:exercise", kwargs={"course_slug": self.course.slug, "slug": self.slug})

    def clean(self) -> None:
        if not isinstance(self.context_files, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.context_files.items()
        ):
            raise ValidationError({"context_files": "must map relative paths to text"})
        if not 1 <= self.build_timeout_seconds <= 7200:
            raise ValidationError({"build_timeout_seconds": "must be between 1 and 7200 seconds"})
        if self.session_id and self.course_id and self.session.course_id != self.course_id:
            raise ValidationError({"session": "must be a session of the exercise's course"})


class Submission(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        BUILDING = "building", _("Building")
        ANALYSING = "analysing", _("Analysing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        ERROR = "error", _("Could not grade")
        HELD = "held", _("Held: the exercise needs a fix")

    FINISHED = (Status.DONE, Status.FAILED, Status.ERROR)
    ACTIVE = (Status.QUEUED, Status.BUILDING, Status.ANALYSING)
    COUNTED = (Status.DONE, Status.FAILED)
    """Only a grading the student's Dockerfile decided counts as an attempt: never our fault
    (error) or the exercise's (held)."""
    PENDING = (*ACTIVE, Status.HELD)
    """Not graded yet but going to be: each holds its attempt at an assignment until it is
    graded (a held one once its exercise is fixed), so a broken exercise cannot be used to
    submit past the cap."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions")
    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="submissions")
    assignment = models.ForeignKey(
        "Assignment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="submissions",
        help_text="The assignment it was made for; empty for practice, which counts for nothing.",
    )

    class Trial(models.TextChoices):
        NONE = "", _("Not a trial")
        SOLUTION = "solution", _("Reference solution")
        STARTER = "starter", _("Starter")
        TRY = "try", _("Tried by staff")

    trial = models.CharField(
        max_length=16,
        choices=Trial.choices,
        default=Trial.NONE,
        blank=True,
        help_text="Staff's trial of the exercise (checking it, or trying it as a student would): "
        "graded like any other, counted nowhere.",
    )
    dockerfile = models.TextField()
    dockerignore = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.TextField(blank=True)
    failure_line = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times a worker took it for grading.")
    enqueued_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life of the worker grading it."
    )
    build_host = models.CharField(
        max_length=64, blank=True, help_text="The build host whose worker last took it (LAYERLAB_BUILD_HOST)."
    )
    last_event_seq = models.PositiveIntegerField(default=0)
    image_id = models.CharField(max_length=80, blank=True)
    image_size = models.BigIntegerField(null=True, blank=True)
    layer_count = models.PositiveIntegerField(null=True, blank=True)
    build_seconds = models.FloatField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True)
    results = models.JSONField(
        default=list, blank=True, help_text="Per-criterion results of the last grading."
    )
    layers = models.JSONField(
        default=dict,
        blank=True,
        help_text="The image's layers as the student browses them (labs.pipeline.layer_view), bounded.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "exercise", "-created_at"]),
            models.Index(fields=["assignment", "owner", "exercise"]),
            # The staff lists (a run's submissions, newest first) read in this order.
            models.Index(fields=["-created_at", "-id"], name="labs_submission_newest"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.exercise} by {self.owner}"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def counts_as_attempt(self) -> bool:
        return self.status in self.COUNTED


class SubmissionEvent(models.Model):
    """Everything a browser sees, stored before it is pushed. `seq` strictly increases per
    submission, so a client that reconnects with `after=<seq>` loses nothing."""

    class Kind(models.TextChoices):
        STATUS = "status"
        LOG = "log"
        STEP = "step"
        CHECK = "check"
        SCORE = "score"

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["submission", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["submission", "seq"], name="event_unique_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.submission_id}#{self.seq} {self.kind}"

    def as_message(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "payload": self.payload,
            "at": self.created_at.isoformat(),
        }


class Assignment(models.Model):
    """Exercises of a course run to hand in by a time, under rules the server enforces."""

    class Counting(models.TextChoices):
        BEST = "best", _("Best attempt")
        LAST = "last", _("Last attempt")

    class Penalty(models.TextChoices):
        PER_DAY = "per_day", _("Percent per day late")
        FLAT = "flat", _("Fixed percent when late")

    run = models.ForeignKey("courses.CourseRun", on_delete=models.CASCADE, related_name="assignments")
    title = models.CharField(max_length=200)
    title_en = models.CharField(max_length=200, blank=True)
    exercises = models.ManyToManyField(Exercise, through="AssignmentExercise", related_name="assignments")
    opens_at = models.DateTimeField()
    due_at = models.DateTimeField()
    late_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="End of the late window; empty = nothing accepted after the due time.",
    )
    late_penalty = models.CharField(max_length=8, choices=Penalty.choices, default=Penalty.PER_DAY)
    late_penalty_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal(0), help_text="Per started day late, or once."
    )
    late_penalty_cap_percent = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True, help_text="Most a per-day penalty may take."
    )
    max_attempts = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Per exercise; empty = no cap."
    )
    min_interval_seconds = models.PositiveIntegerField(
        default=0, help_text="Between two attempts at one exercise."
    )
    counting = models.CharField(max_length=8, choices=Counting.choices, default=Counting.BEST)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "due_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(due_at__gt=models.F("opens_at")), name="assignment_due_after_open"
            ),
            models.CheckConstraint(
                condition=models.Q(late_until__isnull=True) | models.Q(late_until__gt=models.F("due_at")),
                name="assignment_late_after_due",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        errors = {}
        if self.opens_at and self.due_at and self.due_at <= self.opens_at:
            errors["due_at"] = _("The due time must come after the opening time.")
        if self.late_until and self.due_at and self.late_until <= self.due_at:
            errors["late_until"] = _("The late window must end after the due time.")
        for name in ("late_penalty_percent", "late_penalty_cap_percent"):
            value = getattr(self, name)
            if value is not None and not Decimal(0) <= value <= Decimal(100):
                errors[name] = _("A percentage between 0 and 100.")
        if errors:
            raise ValidationError(errors)


class AssignmentExercise(models.Model):
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="items")
    exercise = models.ForeignKey(Exercise, on_delete=models.PROTECT, related_name="assignment_items")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["assignment", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "exercise"], name="assignment_exercise_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.assignment_id}: {self.exercise_id}"


class Extension(models.Model):
    """One student's own due time (and late window, and extra attempts) for an assignment."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="extensions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="extensions")
    due_at = models.DateTimeField()
    late_until = models.DateTimeField(null=True, blank=True)
    extra_attempts = models.PositiveSmallIntegerField(default=0)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["assignment", "user"], name="extension_unique_user")]

    def __str__(self) -> str:
        return f"{self.user_id} until {self.due_at:%Y-%m-%d %H:%M}"


class Grading(models.Model):
    """One result a submission had: the first grading and every regrade applied to it. The
    submission's own score is the newest; the ones before are never overwritten."""

    class Source(models.TextChoices):
        GRADING = "grading", _("Graded")
        REGRADE = "regrade", _("Regraded")

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="gradings")
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.GRADING)
    regrade = models.ForeignKey("Regrade", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    status = models.CharField(max_length=16, choices=Submission.Status.choices)
    score = models.FloatField(null=True, blank=True)
    results = models.JSONField(default=list, blank=True)
    image_size = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["submission", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.submission_id} {self.source} {self.score}"


class Regrade(models.Model):
    """Staff's regrade of an assignment's counted submissions: computed in the background as a
    preview, then applied (or not)."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Regrading")
        READY = "ready", _("Preview ready")
        APPLIED = "applied", _("Applied")
        DISCARDED = "discarded", _("Discarded")

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="regrades")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"regrade {self.pk} of {self.assignment_id} ({self.status})"


class RegradeItem(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        DONE = "done", _("Regraded")
        ERROR = "error", _("Could not regrade")

    regrade = models.ForeignKey(Regrade, on_delete=models.CASCADE, related_name="items")
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="regrade_items")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    old_score = models.FloatField(null=True, blank=True)
    new_status = models.CharField(max_length=16, blank=True)
    new_score = models.FloatField(null=True, blank=True)
    new_results = models.JSONField(default=list, blank=True)
    new_image_size = models.BigIntegerField(null=True, blank=True)
    message = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times a worker took it.")
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["regrade", "id"]
        constraints = [models.UniqueConstraint(fields=["regrade", "submission"], name="regrade_item_unique")]

    def __str__(self) -> str:
        return f"{self.submission_id}: {self.old_score} -> {self.new_score}"


class BuildHost(models.Model):
    """A build host as its worker last reported it: its engine and which allowlisted base images
    that engine has. Written only by the host's own worker (the web app never touches a Docker
    socket); read to route work a host cannot do and by the health endpoint."""

    name = models.SlugField(max_length=64, unique=True)
    queue = models.CharField(max_length=80, help_text="The host's own queue (sandbox.<name>).")
    engine_ok = models.BooleanField(default=False)
    engine_version = models.CharField(max_length=40, blank=True)
    engine_error = models.TextField(blank=True)
    bases = models.JSONField(default=list, blank=True, help_text="Allowlisted base images the engine has.")
    missing = models.JSONField(default=list, blank=True, help_text="Catalogue base images it lacks.")
    package_network = models.BooleanField(default=False, help_text="Can grade `network: packages` exercises.")
    disk_free_bytes = models.BigIntegerField(null=True, blank=True, help_text="Free on the engine's disk.")
    disk_total_bytes = models.BigIntegerField(null=True, blank=True)
    disk_min_free_bytes = models.BigIntegerField(
        null=True, blank=True, help_text="The host's LAYERLAB_ENGINE_MIN_FREE_BYTES."
    )
    concurrency = models.PositiveSmallIntegerField(default=1)
    seen_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def disk_low(self) -> bool:
        return (
            self.disk_free_bytes is not None
            and self.disk_min_free_bytes is not None
            and self.disk_free_bytes < self.disk_min_free_bytes
        )
