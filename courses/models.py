from django.conf import settings
from django.db import models


class Course(models.Model):
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    title_en = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    staff = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="staffed_courses")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class Session(models.Model):
    """One lesson: a Markdown body and the exercises that go with it."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="sessions")
    slug = models.SlugField()
    title = models.CharField(max_length=200)
    title_en = models.CharField(max_length=200, blank=True)
    body_md = models.TextField(blank=True)
    body_md_en = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    week = models.PositiveSmallIntegerField(default=0)
    day = models.PositiveSmallIntegerField(default=0)
    number = models.PositiveSmallIntegerField(default=0, help_text="Session number within the day.")
    duration_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    objectives = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["course", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["course", "slug"], name="session_unique_slug")]

    def __str__(self) -> str:
        return self.title
