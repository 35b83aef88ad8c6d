"""Revisions of what authors change in the browser, and the checks they run on an exercise.

A revision keeps the full text an author saved (never a diff), who saved it, when, and why, so
any one of them can be shown against the current text and restored. The session or exercise
itself always holds the current text, which is what the pages, the grader and `export_course`
read: a revision is the history, not the source of truth."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Revision(models.Model):
    """What every revision records besides the text: why, who, when, and the revision it
    restored, if it was a restore."""

    note = models.CharField(max_length=200, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    restored_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]


class SessionRevision(Revision):
    """One saved version of a lesson's Markdown in one language (`body_md` or `body_md_en`)."""

    class Field(models.TextChoices):
        KO = "body_md", "한국어"
        EN = "body_md_en", "English"

    session = models.ForeignKey("courses.Session", on_delete=models.CASCADE, related_name="revisions")
    field = models.CharField(max_length=16, choices=Field.choices, default=Field.KO)
    text = models.TextField(blank=True)

    class Meta(Revision.Meta):
        indexes = [models.Index(fields=["session", "field", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.session_id} {self.field} #{self.pk}"


class ExerciseRevision(Revision):
    """One saved version of what an author edits of an exercise: both instructions, and the
    rubric and behaviour tests as the YAML they typed (its data is on the exercise)."""

    exercise = models.ForeignKey("labs.Exercise", on_delete=models.CASCADE, related_name="revisions")
    instructions_md = models.TextField(blank=True)
    instructions_en = models.TextField(blank=True)
    rubric_yaml = models.TextField(blank=True)
    tests_yaml = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.exercise_id} #{self.pk}"


class ExerciseCheck(models.Model):
    """`check_course` for one exercise, from the browser: its reference solution and its starter
    graded as two trial submissions by the normal pipeline (they count nowhere)."""

    exercise = models.ForeignKey("labs.Exercise", on_delete=models.CASCADE, related_name="checks")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    solution = models.ForeignKey("labs.Submission", on_delete=models.CASCADE, related_name="+")
    starter = models.ForeignKey(
        "labs.Submission",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the exercise has no starter (students begin from an empty file).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"check {self.pk} of {self.exercise_id}"
