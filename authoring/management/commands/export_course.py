from django.core.management.base import BaseCommand, CommandError

from authoring.files import course_export
from courses.models import Course


class Command(BaseCommand):
    help = "Writes a course out as a folder of files that import_course reads back."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("slug")
        parser.add_argument("directory")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        course = Course.objects.filter(slug=options["slug"]).first()
        if course is None:
            raise CommandError(f"no course with slug {options['slug']!r}")
        course_export(course, options["directory"])
        self.stdout.write(f"exported {course.slug} to {options['directory']}")
