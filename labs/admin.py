from django.contrib import admin

from labs import services
from labs.models import Exercise, Submission, SubmissionEvent


@admin.register(Exercise)
class ExerciseAdmin(admin.ModelAdmin):
    list_display = ("slug", "title", "session", "build_timeout_seconds", "problem_at")
    search_fields = ("slug", "title")
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


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "exercise", "status", "failure_code", "image_size", "created_at")
    list_filter = ("status", "exercise")
    search_fields = ("owner__username",)
    readonly_fields = ("last_event_seq", "attempts", "image_id", "image_size", "layer_count")
    inlines = [SubmissionEventInline]
