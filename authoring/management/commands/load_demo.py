from django.core.management.base import BaseCommand

from authoring.demo import DEMO_RUN, demo_load
from courses.models import CourseRun


class Command(BaseCommand):
    help = "Loads the demo course, the demo accounts and a demo term of the seed course. Idempotent."

    def handle(self, *args: object, **options: object) -> None:
        users = demo_load()
        self.stdout.write(self.style.SUCCESS("Demo course loaded. Logins:"))
        for name, password in users.items():
            self.stdout.write(f"  {name:<11} {password}")
        run = CourseRun.objects.filter(slug=DEMO_RUN).first()
        if run is not None:
            assignment = run.assignments.order_by("pk").first()
            self.stdout.write(
                f"Demo term {run.slug} of {run.course.slug}: the instructor's dashboard is /runs/{run.slug}/"
            )
            if assignment is not None:
                self.stdout.write(
                    f"  its assignment for the students: /runs/{run.slug}/assignments/{assignment.pk}/"
                )
