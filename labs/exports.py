"""A gradebook as data: the JSON export, the row the live page receives, and the CSV export
(UTF-8 with a BOM, so spreadsheet programs read Korean names correctly)."""

from __future__ import annotations

import codecs
import csv
import io
from typing import Any

from labs.models import Exercise
from labs.selectors import Cell, Gradebook, GradebookRow


def _cell_data(cell: Cell, exercise: Exercise) -> dict[str, Any]:
    counted = cell.counted
    return {
        "exercise_id": exercise.pk,
        "exercise": exercise.slug,
        "score": cell.score,
        "raw_score": counted.raw_score if counted else None,
        "penalty_percent": float(counted.penalty) if counted else 0.0,
        "late": bool(counted and counted.late),
        "attempts": cell.used,
        "pending": cell.pending,
        "submission_id": counted.submission_id if counted else None,
    }


def gradebook_row_data(row: GradebookRow, exercises: list[Exercise]) -> dict[str, Any]:
    return {
        "user_id": row.user_id,
        "username": row.username,
        "name": row.name,
        "email": row.email,
        "extension_due_at": row.extension_due_at.isoformat() if row.extension_due_at else None,
        "cells": [_cell_data(c, e) for c, e in zip(row.cells, exercises, strict=True)],
        "total": row.total,
        "late": row.late,
    }


def gradebook_data(book: Gradebook) -> dict[str, Any]:
    a = book.assignment
    return {
        "assignment": {
            "id": a.pk,
            "title": a.title,
            "title_en": a.title_en,
            "run": a.run.slug,
            "time_zone": a.run.time_zone,
            "opens_at": a.opens_at.isoformat(),
            "due_at": a.due_at.isoformat(),
            "late_until": a.late_until.isoformat() if a.late_until else None,
            "counting": a.counting,
            "max_attempts": a.max_attempts,
        },
        "exercises": [
            {"id": e.pk, "slug": e.slug, "title": e.title, "title_en": e.title_en} for e in book.exercises
        ],
        "students": [gradebook_row_data(row, book.exercises) for row in book.rows],
    }


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    """A name or email as text, never a formula: a spreadsheet runs a cell that starts with one
    of these (a name like `=HYPERLINK(...)` from a roster), so it is kept as text with a quote."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def gradebook_csv(book: Gradebook) -> bytes:
    """One row per student: username, name, email, then each exercise's counted score,
    attempts used and late (yes/no), then the total."""
    out = io.StringIO()
    writer = csv.writer(out)
    header = ["username", "name", "email"]
    for e in book.exercises:
        header += [f"{e.slug} score", f"{e.slug} attempts", f"{e.slug} late"]
    writer.writerow([*header, "total"])
    for row in book.rows:
        line = [_text(row.username), _text(row.name), _text(row.email)]
        for cell in row.cells:
            late = bool(cell.counted and cell.counted.late)
            line += [_number(cell.score), str(cell.used), "yes" if late else "no"]
        writer.writerow([*line, _number(row.total)])
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")
