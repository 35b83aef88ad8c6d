import sys

from django.core.management.base import BaseCommand

from authoring.files import CourseFileError, course_import, course_read


class Command(BaseCommand):
    help = "Creates or updates a course from its folder of files (course.yaml, sessions/, exercises/)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("directory")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        try:
            changes = course_import(course_read(options["directory"]))
        except CourseFileError as exc:
            self.stderr.write(str(exc))
            sys.exit(1)
        for line in changes:
            self.stdout.write(line)
