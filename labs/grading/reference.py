"""`docs/criteria.md`, written from the registered criteria: the reference a course author and a
student read is the catalogue itself, never a copy that drifts (a test fails when the file is
stale; `manage.py criteria_docs` writes it)."""

from __future__ import annotations

from labs.grading.catalogue import CATEGORIES
from labs.grading.registry import Registered, all_criteria

EVIDENCE = {
    "layers": "every layer's files (deleted ones too)",
    "base": "the base image's layers",
    "user": "the user the image really runs as",
    "structure": "the exercise's behaviour tests, run in the image",
    "health": "the image's HEALTHCHECK, run until healthy",
    "rebuild": "a rebuild after a one-line source edit",
    "speed": "a benchmark timed against a baseline image",
}
SOURCES = {"dockerfile": "the Dockerfile", "image": "the built image", "run": "running the image"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _section(entry: Registered) -> list[str]:
    c = entry.criterion
    lines = [
        f"### `{c.id}`: {c.title.en}",
        "",
        f"{c.title.ko}",
        "",
        f"- Judged from {SOURCES[c.source]}; default weight {c.default_weight}.",
    ]
    if not c.in_default_rubric:
        lines.append("- Not in the default rubric: an exercise's rubric names it when it applies.")
    if c.needs:
        lines.append(f"- Evidence: {'; '.join(EVIDENCE[n] for n in c.needs)}.")
    if c.anchors:
        lines.append(f"- Corresponds to: {', '.join(c.anchors)}.")
    if entry.options:
        options = ", ".join(f"`{k}: {v}`" for k, v in sorted(entry.options.items()))
        lines.append(f"- Options (rubric `options:`), with their defaults: {options}.")
    lines += [
        "",
        "| | English | 한국어 |",
        "| --- | --- | --- |",
        f"| Why | {_cell(c.why.en)} | {_cell(c.why.ko)} |",
        f"| Fix | {_cell(c.fix.en)} | {_cell(c.fix.ko)} |",
        "",
    ]
    return lines


def criteria_markdown() -> str:
    registry = all_criteria()
    out = [
        "# Criteria",
        "",
        "<!-- Generated from the registered criteria by `manage.py criteria_docs`; do not edit. -->",
        "",
        f"Layerlab judges a submission on {len(registry)} criteria. Their ids are stable: rubrics and "
        "feedback name them. A rubric picks criteria by id and gives each a weight (and, for some, "
        "options); without a rubric every criterion in the default rubric counts with its default weight.",
        "",
    ]
    for category in CATEGORIES:
        entries = sorted(
            (e for e in registry.values() if e.criterion.category == category), key=lambda e: e.criterion.id
        )
        if not entries:
            continue
        out += [f"## {category.capitalize()} ({len(entries)})", ""]
        for entry in entries:
            out += _section(entry)
    return "\n".join(out).rstrip() + "\n"
