from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
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
    session = models.ForeignKey("courses.Session", on_delete=models.CASCADE, related_name="exercises")
    slug = models.SlugField(unique=True)
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

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if not isinstance(self.context_files, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.context_files.items()
        ):
            raise ValidationError({"context_files": "must map relative paths to text"})
        if not 1 <= self.build_timeout_seconds <= 7200:
            raise ValidationError({"build_timeout_seconds": "must be between 1 and 7200 seconds"})

    @property
    def course(self):  # type: ignore[no-untyped-def]
        return self.session.course


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

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions")
    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="submissions")
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
    last_event_seq = models.PositiveIntegerField(default=0)
    image_id = models.CharField(max_length=80, blank=True)
    image_size = models.BigIntegerField(null=True, blank=True)
    layer_count = models.PositiveIntegerField(null=True, blank=True)
    build_seconds = models.FloatField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True)
    results = models.JSONField(
        default=list, blank=True, help_text="Per-criterion results of the last grading."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "exercise", "-created_at"])]

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
