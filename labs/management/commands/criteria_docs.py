from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from labs.grading.reference import criteria_markdown

DOC = Path(settings.BASE_DIR) / "docs" / "criteria.md"


class Command(BaseCommand):
    help = (
        "Writes docs/criteria.md from the registered criteria (or, with --check, says whether it is stale)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check", action="store_true", help="exit 1 when the file differs, write nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        text = criteria_markdown()
        if options["check"]:
            if not DOC.exists() or DOC.read_text(encoding="utf-8") != text:
                raise CommandError(f"{DOC} is stale: run `manage.py criteria_docs`")
            self.stdout.write(f"{DOC} is up to date")
            return
        DOC.write_text(text, encoding="utf-8")
        self.stdout.write(f"wrote {DOC}")
