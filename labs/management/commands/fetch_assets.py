"""`manage.py fetch_assets [--exercise SLUG]`: downloads the large files exercises build from
(the CPython source tarball), checks each against its sha256, and keeps them by hash. Files
already here are left alone; a download that does not match leaves nothing behind."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labs.assets import AssetError, asset_fetch, asset_path
from labs.models import Exercise


class Command(BaseCommand):
    help = "Download and sha256-check the large context files of every exercise (or of one)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--exercise", metavar="SLUG", help="only this exercise")

    def handle(self, *args: Any, **options: Any) -> None:
        exercises = Exercise.objects.exclude(assets=[]).order_by("slug")
        if options["exercise"]:
            exercises = exercises.filter(slug=options["exercise"])
            if not Exercise.objects.filter(slug=options["exercise"]).exists():
                raise CommandError(f"no exercise with slug {options['exercise']!r}")
        failures = []
        for exercise in exercises:
            for asset in exercise.assets:
                label = f"{exercise.slug}: {asset['path']}"
                try:
                    fetched = asset_fetch(asset, progress=lambda m, label=label: self.stdout.write(f"  {m}"))
                except AssetError as exc:
                    failures.append(f"{label}: {exc}")
                    continue
                state = "fetched, sha256 verified" if fetched else "present"
                self.stdout.write(f"{label}: {state} ({asset_path(asset['sha256'])})")
        if failures:
            raise CommandError("\n".join(failures))
