"""Makes the local stand-ins for the base images lessons build FROM (no registry is reachable).
Idempotent: images already in the engine are left alone."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sandbox.catalogue import CATALOGUE, CatalogueError, SeedResult, missing, seed
from sandbox.engine import EngineError, images_copy_from
from sandbox.layers.analyse import analyse_image
from sandbox.layers.summary import LayerError
from sandbox.policy import normalize_image


class Command(BaseCommand):
    help = (
        "Build the local base-image stand-ins (debian:bookworm-slim via debootstrap, then "
        "python, node and golang images FROM it, and the distroless images from its Debian "
        "packages). Images already present are skipped."
    )
    # Needs only the engine: a models error elsewhere in the project must not block seeding.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--only",
            action="append",
            metavar="REF",
            default=[],
            help="seed only this image (repeatable); its parent must exist or be listed too",
        )
        parser.add_argument(
            "--from-engine",
            metavar="DOCKER_HOST",
            default="",
            help=(
                "copy the images this engine lacks from another engine that has them (e.g. "
                "unix:///var/run/docker.sock, ssh://build-1) instead of building them, so every "
                "build host grades on identical bases"
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        wanted: list[str] = options["only"]
        known = {normalize_image(image.ref): image.ref for image in CATALOGUE}
        unknown = [ref for ref in wanted if normalize_image(ref) not in known]
        if unknown:
            raise CommandError(
                f"not in the catalogue: {', '.join(unknown)}; known: {', '.join(sorted(known.values()))}"
            )
        chosen = {known[normalize_image(ref)] for ref in wanted}
        images = [image for image in CATALOGUE if not wanted or image.ref in chosen]

        def progress(message: str) -> None:
            self.stdout.write(message)
            self.stdout.flush()

        try:
            if options["from_engine"]:
                lacking = missing(images)
                if lacking:
                    progress(f"copying {', '.join(lacking)} from {options['from_engine']}")
                    images_copy_from(options["from_engine"], lacking)
            results = seed(images, progress=progress, proxy=settings.LAYERLAB_PACKAGE_PROXY)
            # Every submission's image sits on one of these: reading their layers now means a
            # student's first grading reads only the student's own layers.
            for image in images:
                if image.ref != "scratch":
                    report = analyse_image(image.ref)
                    if report.layers_read:
                        progress(f"{image.ref}: layers analysed for grading ({report.layers_read} read)")
        except (EngineError, CatalogueError, LayerError) as exc:
            raise CommandError(f"seeding base images failed: {exc}") from exc
        self.stdout.write("")
        self.stdout.write(self._table(results))

    @staticmethod
    def _table(results: list[SeedResult]) -> str:
        rows = [("image", "result", "seconds", "size MB")]
        for r in results:
            seconds = f"{r.seconds:.1f}" if r.result == "built" else "-"
            size = f"{r.size_bytes / 1e6:.1f}" if r.size_bytes is not None else "-"
            rows.append((r.ref, r.result, seconds, size))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = [
            "  ".join(
                cell.ljust(width) if i < 2 else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            )
            for row in rows
        ]
        lines.insert(1, "  ".join("-" * width for width in widths))
        return "\n".join(lines)
