from django.core.management.base import BaseCommand

from courses.demo import demo_load


class Command(BaseCommand):
    help = "Loads the demo course (one exercise) and the demo accounts. Idempotent."

    def handle(self, *args: object, **options: object) -> None:
        users = demo_load()
        self.stdout.write(self.style.SUCCESS("Demo course loaded. Logins:"))
        for name, password in users.items():
            self.stdout.write(f"  {name:<11} {password}")
