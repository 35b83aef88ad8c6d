import secrets
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class Course(models.Model):
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    title_en = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    description_en = models.TextField(blank=True)
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


def new_invitation_code() -> str:
    """Eight characters a student can type from a slide: no 0/O or 1/I/L to confuse."""
    return "".join(secrets.choice(INVITATION_ALPHABET) for _ in range(8))


INVITATION_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(_("“%(zone)s” is not a time zone name.") % {"zone": value}) from exc


class CourseRun(models.Model):
    """One term of teaching a course (PrairieLearn's course instance): its own people,
    assignments, submissions and grades; the content is the course's, shared by every run."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="runs")
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, default="Asia/Seoul", validators=[validate_time_zone])
    invitation_code = models.CharField(max_length=16, unique=True, default=new_invitation_code)
    joining_open = models.BooleanField(default=True, help_text="Students may join with the invitation code.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_on", "title"]

    def __str__(self) -> str:
        return self.title

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Membership(models.Model):
    class Role(models.TextChoices):
        INSTRUCTOR = "instructor", _("Instructor")
        ASSISTANT = "assistant", _("Assistant")
        STUDENT = "student", _("Student")

    STAFF = (Role.INSTRUCTOR, Role.ASSISTANT)

    run = models.ForeignKey(CourseRun, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STUDENT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "role", "user__username"]
        constraints = [models.UniqueConstraint(fields=["run", "user"], name="membership_unique_user")]

    def __str__(self) -> str:
        return f"{self.user} in {self.run} ({self.role})"

    @property
    def is_staff_role(self) -> bool:
        return self.role in self.STAFF


class Profile(models.Model):
    """What a person chose for themselves, kept with their account so it follows them to every
    browser and device (a cookie stays behind in the one it was set in)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, blank=True)

    def __str__(self) -> str:
        return f"{self.user} ({self.language or '-'})"
