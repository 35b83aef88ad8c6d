from django.contrib import admin

from courses.models import Course, Session


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ("slug", "title")
    filter_horizontal = ("staff",)


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ("slug", "title", "course", "position")
    list_filter = ("course",)
