"""Forms of the staff pages. Times are typed as the run's local wall-clock time and become
UTC here; a local time the zone skips or repeats (a clock change) is refused, not guessed."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from courses.models import Membership
from courses.templatetags.layerlab import localized
from labs.models import Assignment, Exercise, Submission

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


class LocalDateTimeField(forms.DateTimeField):
    """A `datetime-local` input read and shown in one time zone, whatever the server's."""

    def __init__(self, *, zone: zoneinfo.ZoneInfo, **kwargs: Any) -> None:
        self.zone = zone
        kwargs.setdefault(
            "widget", forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_FORMAT)
        )
        kwargs.setdefault("input_formats", [LOCAL_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"])
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, datetime) and timezone.is_aware(value):
            return value.astimezone(self.zone).replace(tzinfo=None)
        return value

    def to_python(self, value: Any) -> datetime | None:
        # Django makes a naive time aware in the current zone, refusing skipped or doubled ones.
        with timezone.override(self.zone):
            return super().to_python(value)


class ExerciseChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Exercise) -> str:
        return f"{localized(obj)} ({obj.slug})"


class _Form(forms.Form):
    """Labels without Django's trailing colon, as on the other pages."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class AssignmentForm(_Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    title_en = forms.CharField(label=_("Title in English"), max_length=200, required=False)
    exercises = ExerciseChoiceField(
        label=_("Exercises"), queryset=Exercise.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    late_penalty = forms.ChoiceField(
        label=_("Late penalty"), choices=Assignment.Penalty.choices, widget=forms.RadioSelect
    )
    late_penalty_percent = forms.DecimalField(
        label=_("Penalty (percent)"),
        min_value=0,
        max_value=100,
        decimal_places=2,
        initial=0,
        help_text=_("Per started day late, or once for a fixed penalty."),
    )
    late_penalty_cap_percent = forms.DecimalField(
        label=_("Most a per-day penalty takes (percent)"),
        min_value=0,
        max_value=100,
        decimal_places=2,
        required=False,
    )
    max_attempts = forms.IntegerField(
        label=_("Attempts per exercise"),
        min_value=1,
        max_value=1000,
        required=False,
        help_text=_("Empty: no cap."),
    )
    min_interval_seconds = forms.IntegerField(
        label=_("Seconds between two attempts"),
        min_value=0,
        max_value=7 * 24 * 3600,
        initial=0,
        help_text=_("0: none. 600 is ten minutes."),
    )
    counting = forms.ChoiceField(
        label=_("Which attempt counts"), choices=Assignment.Counting.choices, widget=forms.RadioSelect
    )

    def __init__(self, *args: Any, zone: zoneinfo.ZoneInfo, exercises: QuerySet[Exercise], **kwargs: Any):
        super().__init__(*args, **kwargs)
        zone_name = str(zone.key)
        self.fields["exercises"].queryset = exercises  # type: ignore[attr-defined]
        self.fields["opens_at"] = LocalDateTimeField(
            zone=zone, label=_("Opens at (%(zone)s)") % {"zone": zone_name}
        )
        self.fields["due_at"] = LocalDateTimeField(
            zone=zone, label=_("Due at (%(zone)s)") % {"zone": zone_name}
        )
        self.fields["late_until"] = LocalDateTimeField(
            zone=zone,
            label=_("Late work accepted until (%(zone)s)") % {"zone": zone_name},
            required=False,
            help_text=_("Empty: nothing is accepted after the due time."),
        )
        self.order_fields(
            [
                "title",
                "title_en",
                "exercises",
                "opens_at",
                "due_at",
                "late_until",
                "late_penalty",
                "late_penalty_percent",
                "late_penalty_cap_percent",
                "max_attempts",
                "min_interval_seconds",
                "counting",
            ]
        )

    @staticmethod
    def initial_for(assignment: Assignment) -> dict[str, Any]:
        return {
            "title": assignment.title,
            "title_en": assignment.title_en,
            "exercises": [item.exercise_id for item in assignment.items.all()],
            "opens_at": assignment.opens_at,
            "due_at": assignment.due_at,
            "late_until": assignment.late_until,
            "late_penalty": assignment.late_penalty,
            "late_penalty_percent": assignment.late_penalty_percent,
            "late_penalty_cap_percent": assignment.late_penalty_cap_percent,
            "max_attempts": assignment.max_attempts,
            "min_interval_seconds": assignment.min_interval_seconds,
            "counting": assignment.counting,
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        opens, due, late = data.get("opens_at"), data.get("due_at"), data.get("late_until")
        if opens and due and due <= opens:
            self.add_error("due_at", _("The due time must come after the opening time."))
        if due and late and late <= due:
            self.add_error("late_until", _("The late window must end after the due time."))
        return data

    def service_kwargs(self) -> dict[str, Any]:
        """The cleaned data in the order the course lists its exercises."""
        data = dict(self.cleaned_data)
        data["exercises"] = list(data["exercises"])
        return data


class StudentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Membership) -> str:
        name = obj.user.get_full_name()
        return f"{obj.user.get_username()} — {name}" if name else obj.user.get_username()


class ExtensionForm(_Form):
    student = StudentChoiceField(label=_("Student"), queryset=Membership.objects.none())
    extra_attempts = forms.IntegerField(label=_("Extra attempts"), min_value=0, max_value=100, initial=0)
    reason = forms.CharField(label=_("Reason (staff only)"), max_length=200, required=False)

    def __init__(self, *args: Any, zone: zoneinfo.ZoneInfo, students: QuerySet[Membership], **kwargs: Any):
        super().__init__(*args, **kwargs)
        zone_name = str(zone.key)
        self.fields["student"].queryset = students  # type: ignore[attr-defined]
        self.fields["due_at"] = LocalDateTimeField(
            zone=zone, label=_("Their due time (%(zone)s)") % {"zone": zone_name}
        )
        self.fields["late_until"] = LocalDateTimeField(
            zone=zone,
            label=_("Their late window ends (%(zone)s)") % {"zone": zone_name},
            required=False,
            help_text=_("Empty: the class's late window, moved by the same time."),
        )
        self.order_fields(["student", "due_at", "late_until", "extra_attempts", "reason"])


class RegradeStartForm(_Form):
    reason = forms.CharField(
        label=_("Why (for the record)"),
        max_length=300,
        required=False,
        help_text=_("For example: the image size threshold was fixed."),
    )


class SubmissionFilterForm(_Form):
    """The run's submissions, narrowed; every field may be left empty."""

    student = forms.TypedChoiceField(label=_("Student"), required=False, coerce=int, empty_value=None)
    exercise = forms.TypedChoiceField(label=_("Exercise"), required=False, coerce=int, empty_value=None)
    assignment = forms.TypedChoiceField(label=_("Assignment"), required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(label=_("Status"), required=False)
    score_min = forms.FloatField(label=_("Score from"), required=False, min_value=0, max_value=100)
    score_max = forms.FloatField(label=_("Score to"), required=False, min_value=0, max_value=100)
    late = forms.TypedChoiceField(
        label=_("Late"),
        required=False,
        choices=[("", _("Any")), ("yes", _("Late only")), ("no", _("On time only"))],
        coerce=lambda v: v == "yes",
        empty_value=None,
    )

    def __init__(
        self,
        *args: Any,
        students: QuerySet[Membership],
        exercises: QuerySet[Exercise],
        assignments: QuerySet[Assignment],
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        anyone = [("", _("Any"))]
        self.fields["student"].choices = anyone + [  # type: ignore[attr-defined]
            (m.user_id, m.user.get_username()) for m in students
        ]
        self.fields["exercise"].choices = anyone + [  # type: ignore[attr-defined]
            (e.pk, localized(e)) for e in exercises
        ]
        self.fields["assignment"].choices = anyone + [  # type: ignore[attr-defined]
            (a.pk, localized(a)) for a in assignments
        ]
        self.fields["status"].choices = anyone + list(Submission.Status.choices)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        low, high = data.get("score_min"), data.get("score_max")
        if low is not None and high is not None and low > high:
            self.add_error("score_max", _("The upper score must not be below the lower one."))
        return data
