from django.contrib import admin

from labs.models import Exercise, Submission, SubmissionEvent


@admin.register(Exercise)
class ExerciseAdmin(admin.ModelAdmin):
    list_display = ("slug", "title", "session", "build_timeout_seconds")
    search_fields = ("slug", "title")


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
