from typing import Any

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest

from courses.admin import RunScopedAdmin, staffed_run_ids
from courses.models import Membership
from labs import services
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


@admin.register(Exercise)
class ExerciseAdmin(admin.ModelAdmin):
    list_display = ("slug", "title", "course", "session", "build_timeout_seconds", "problem_at")
    list_filter = ("course",)
    search_fields = ("slug", "title", "title_en", "course__slug")
    readonly_fields = ("problem", "problem_at")
    actions = ["clear_problem"]

    @admin.action(description="The exercise is fixed: clear its problem and grade its held submissions")
    def clear_problem(self, request, queryset):  # type: ignore[no-untyped-def]
        released = sum(services.exercise_problem_clear(exercise=e) for e in queryset)
        self.message_user(request, f"{released} held submission(s) requeued.")


class SubmissionEventInline(admin.TabularInline):
    model = SubmissionEvent
    extra = 0
    can_delete = False
    readonly_fields = ("seq", "kind", "payload", "created_at")


class GradingInline(admin.TabularInline):
    """Every result the submission had, oldest first: regrades never overwrite one."""

    model = Grading
    extra = 0
    can_delete = False
    fields = ("created_at", "source", "regrade", "status", "score", "image_size")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "exercise", "assignment", "status", "score", "failure_code", "created_at")
    list_filter = (
        "status",
        ("assignment__run", admin.RelatedOnlyFieldListFilter),
        ("assignment", admin.RelatedOnlyFieldListFilter),
        ("exercise__course", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("owner__username", "owner__email", "exercise__slug", "failure_code")
    list_select_related = ("owner", "exercise", "assignment")
    date_hierarchy = "created_at"
    raw_id_fields = ("owner", "assignment")
    readonly_fields = ("last_event_seq", "attempts", "image_id", "image_size", "layer_count")
    inlines = [GradingInline, SubmissionEventInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Submission]:
        """A run's staff see its assignments' submissions and its students' practice on its course."""
        found = super().get_queryset(request)
        if request.user.is_superuser:
            return found
        runs = staffed_run_ids(request.user)
        practice = Membership.objects.filter(
            run_id__in=runs,
            run__course_id=OuterRef("exercise__course_id"),
            user_id=OuterRef("owner_id"),
            role=Membership.Role.STUDENT,
        )
        return found.filter(Q(assignment__run__in=runs) | Q(assignment__isnull=True) & Exists(practice))


class AssignmentExerciseInline(admin.TabularInline):
    model = AssignmentExercise
    extra = 1
    fields = ("exercise", "position")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        run = getattr(request, "_assignment_run", None)
        if db_field.name == "exercise" and run is not None:
            kwargs["queryset"] = Exercise.objects.filter(course_id=run.course_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ExtensionInline(admin.TabularInline):
    model = Extension
    extra = 0
    raw_id_fields = ("user",)
    fields = ("user", "due_at", "late_until", "extra_attempts", "reason")


@admin.register(Assignment)
class AssignmentAdmin(RunScopedAdmin):
    list_display = ("title", "run", "opens_at", "due_at", "late_until", "max_attempts", "counting")
    list_filter = (("run", admin.RelatedOnlyFieldListFilter), "counting", "late_penalty")
    search_fields = ("title", "title_en", "run__slug", "run__title")
    list_select_related = ("run",)
    date_hierarchy = "due_at"
    inlines = [AssignmentExerciseInline, ExtensionInline]

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        found = super().get_object(request, object_id, from_field)
        # The exercise choices of the inline are the run's course's.
        request._assignment_run = found.run if found is not None else None  # type: ignore[attr-defined]
        return found


class RegradeItemInline(admin.TabularInline):
    model = RegradeItem
    extra = 0
    can_delete = False
    fields = ("submission", "status", "old_score", "new_status", "new_score", "message", "finished_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Regrade)
class RegradeAdmin(RunScopedAdmin):
    """Regrades are started and applied from the gradebook (which shows the preview); here they
    are looked at."""

    run_lookup = "assignment__run"
    list_display = ("id", "assignment", "run", "status", "created_by", "created_at", "applied_at")
    list_filter = ("status", ("assignment__run", admin.RelatedOnlyFieldListFilter))
    search_fields = ("assignment__title", "assignment__run__slug", "reason", "created_by__username")
    list_select_related = ("assignment__run", "created_by")
    readonly_fields = ("assignment", "created_by", "status", "reason", "created_at", "applied_at")
    inlines = [RegradeItemInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Run", ordering="assignment__run__slug")
    def run(self, obj: Regrade) -> str:
        return str(obj.assignment.run)
