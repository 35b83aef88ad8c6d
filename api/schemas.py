"""The API's shapes: the OpenAPI schema is generated from these (django-ninja, pydantic)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema


class ErrorOut(Schema):
    code: str = Field(description="Stable: the pages' refusal codes, unauthorized, forbidden, not_found")
    message: str = Field(description="For a person, in the request's language")


class MeOut(Schema):
    username: str
    language: str
    token: str = Field(description="The name of the token this request used")
    scope: Literal["read", "submit"]


class TokenIn(Schema):
    username: str = Field(max_length=150)
    password: str = Field(max_length=4096)
    name: str = Field(max_length=100)
    scope: Literal["read", "submit"] = "submit"


class TokenOut(Schema):
    token: str = Field(description="Shown once: only its hash is kept")
    name: str
    scope: Literal["read", "submit"]
    prefix: str


class ExerciseRef(Schema):
    course: str
    slug: str
    title: str


class ExerciseStanding(ExerciseRef):
    attempts_used: int
    attempts_left: int | None = Field(description="None: no limit")
    refusal: str | None = Field(description="Why a submission would be refused now; None: it is accepted")
    refusal_code: str | None


class AssignmentOut(Schema):
    id: int
    title: str
    opens_at: datetime
    due_at: datetime = Field(description="With the student's extension, if any")
    late_until: datetime | None
    time_zone: str
    phase: Literal["not_open", "open", "late", "closed"]
    max_attempts: int | None
    exercises: list[ExerciseStanding]


class RunOut(Schema):
    slug: str
    title: str
    course: str
    course_title: str
    role: str
    assignments: list[AssignmentOut]


class ExerciseBrief(ExerciseRef):
    session: str
    passing_score: float


class ContextFile(Schema):
    path: str
    size: int
    text: str | None = Field(description="None for a large file given as an asset (its path and size only)")


class ExerciseOut(ExerciseBrief):
    instructions_md: str
    starter_dockerfile: str
    allowed_base_images: list[str]
    build_timeout_seconds: int
    dockerignore_expected: bool
    context_files: list[ContextFile]
    url: str


class SubmissionIn(Schema):
    course: str = Field(max_length=50)
    exercise: str = Field(max_length=50)
    assignment: int | None = Field(default=None, ge=1, le=2**31 - 1)
    dockerfile: str
    dockerignore: str = ""


class FailureOut(Schema):
    code: str
    message: str
    line: int | None


class ResultOut(Schema):
    criterion: str
    title: str
    verdict: Literal["pass", "partial", "fail", "skip"]
    lines: list[int]
    detail: str
    required: bool
    points: float
    max_points: float


class SubmissionOut(Schema):
    id: int
    url: str
    exercise: ExerciseRef
    assignment: int | None
    trial: str = Field(description="Empty for a student's submission; staff trials count nowhere")
    status: Literal["queued", "building", "analysing", "done", "failed", "error", "held"]
    finished: bool
    score: float | None
    passing_score: float
    image_size: int | None
    layer_count: int | None
    build_seconds: float | None
    created_at: datetime
    finished_at: datetime | None
    last_event_seq: int
    failure: FailureOut | None
    results: list[ResultOut]


class EventOut(Schema):
    seq: int
    kind: Literal["status", "log", "step", "check", "score"]
    payload: dict[str, Any]
    at: datetime


class EventsOut(Schema):
    events: list[EventOut]
    more: bool = Field(description="More events are stored after the last one here: ask again")
    finished: bool


class GradebookOut(Schema):
    assignment: dict[str, Any]
    exercises: list[dict[str, Any]]
    students: list[dict[str, Any]]
