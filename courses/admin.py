from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from courses.models import Course, CourseRun, Membership, Profile, Session


def staffed_run_ids(user: Any, roles: tuple[str, ...] = tuple(Membership.STAFF)) -> QuerySet[Membership]:
    return Membership.objects.filter(user_id=user.pk, role__in=roles).values("run_id")


class RunScopedAdmin(admin.ModelAdmin):
    """Admin for a run's objects. Django's model permissions decide what a staff account may do
    at all (nobody becomes `is_staff` by a role); on top of that, a non-superuser sees only the
    runs they are instructor or assistant of, and changes or deletes only in runs they instruct."""

    run_lookup = "run"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        found = super().get_queryset(request)
        if request.user.is_superuser:
            return found
        return found.filter(**{f"{self.run_lookup}__in": staffed_run_ids(request.user)})

    def _instructs(self, request: HttpRequest, obj: Any) -> bool:
        if obj is None or request.user.is_superuser:
            return True
        runs = staffed_run_ids(request.user, (Membership.Role.INSTRUCTOR,))
        return self.model._default_manager.filter(pk=obj.pk, **{f"{self.run_lookup}__in": runs}).exists()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._instructs(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._instructs(request, obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "run" and not request.user.is_superuser:
            kwargs["queryset"] = CourseRun.objects.filter(
                pk__in=staffed_run_ids(request.user, (Membership.Role.INSTRUCTOR,))
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ("slug", "title")
    search_fields = ("slug", "title", "title_en")
    filter_horizontal = ("staff",)


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "language")
    list_filter = ("language",)
    search_fields = ("user__username",)


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ("slug", "title", "course", "week", "day", "number", "position")
    list_filter = ("course",)
    search_fields = ("slug", "title", "title_en")


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)


@admin.register(CourseRun)
class CourseRunAdmin(RunScopedAdmin):
    run_lookup = "pk"
    list_display = ("slug", "title", "course", "starts_on", "ends_on", "time_zone", "joining_open", "members")
    list_filter = (("course", admin.RelatedOnlyFieldListFilter), "joining_open", "time_zone")
    search_fields = ("slug", "title", "course__slug", "course__title", "invitation_code")
    date_hierarchy = "starts_on"
    inlines = [MembershipInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CourseRun]:
        return (
            super().get_queryset(request).select_related("course").annotate(member_count=Count("memberships"))
        )

    @admin.display(description="Members", ordering="member_count")
    def members(self, obj: CourseRun) -> int:
        return obj.member_count  # type: ignore[attr-defined]


@admin.register(Membership)
class MembershipAdmin(RunScopedAdmin):
    list_display = ("user", "user_email", "run", "role", "created_at")
    list_filter = ("role", ("run", admin.RelatedOnlyFieldListFilter))
    search_fields = ("user__username", "user__email", "user__first_name", "user__last_name", "run__slug")
    list_select_related = ("user", "run")
    raw_id_fields = ("user",)

    @admin.display(description="Email", ordering="user__email")
    def user_email(self, obj: Membership) -> str:
        return obj.user.email
