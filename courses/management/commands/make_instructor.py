from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from courses.models import CourseRun, Membership
from courses.selectors import run_role
from courses.services import membership_add


class Command(BaseCommand):
    help = (
        "Makes an existing account an instructor of a course run (a member already gets the "
        "instructor role). The first instructor of a run is made this way; later ones by an "
        "instructor on the roster page."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("run_slug", help="the course run's slug")
        parser.add_argument("username", help="the account's username")

    def handle(self, *args: Any, **options: Any) -> None:
        run = CourseRun.objects.filter(slug=options["run_slug"]).first()
        if run is None:
            known = ", ".join(CourseRun.objects.values_list("slug", flat=True)[:20]) or "none"
            raise CommandError(f"No course run with the slug “{options['run_slug']}” (runs: {known}).")
        user = get_user_model()._default_manager.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(
                f"No account with the username “{options['username']}”. "
                "Create it first (manage.py createsuperuser, or the sign-up page)."
            )
        before = run_role(user, run)
        membership_add(run=run, user=user, role=Membership.Role.INSTRUCTOR)
        if before == Membership.Role.INSTRUCTOR:
            self.stdout.write(f"{user.get_username()} is already an instructor of {run.slug}.")
        elif before:
            self.stdout.write(
                self.style.SUCCESS(f"{user.get_username()} was {before}, now instructor of {run.slug}.")
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(f"{user.get_username()} is now an instructor of {run.slug}.")
            )
