"""The checks `import_course` (and `check_course`) make of an exercise's rubric and behaviour
tests, for one field typed in the browser: the same validators and the same messages, with the
line in the field's own text. Nothing here writes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from labs.grading.rubric import RubricError, load_yaml_with_lines, rubric_from_data
from sandbox.run.spec import SpecError, validate_spec

FIELD_MAX_BYTES = 64 * 1024
"""A rubric or a tests spec longer than this is not one a person wrote."""

_SPEC_WHERE = re.compile(r"^(?P<key>[A-Za-z]+)(?:\[(?P<index>\d+)\])?")


@dataclass(frozen=True)
class Problem:
    """One message as `import_course` words it, and the line of the field it is about."""

    field: str
    line: int | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        where = f"{self.field}:{self.line}" if self.line else self.field
        return {
            "field": self.field,
            "line": self.line,
            "message": self.message,
            "text": f"{where}: {self.message}",
        }


@dataclass(frozen=True)
class Checked:
    """The field's data when it is valid (`problem` None), else its first problem."""

    data: dict[str, Any]
    problem: Problem | None


def _too_big(field: str, text: str) -> Problem | None:
    size = len(text.encode("utf-8"))
    if size > FIELD_MAX_BYTES:
        return Problem(
            field, None, f"is {size // 1024} KiB; the most a field may hold is {FIELD_MAX_BYTES // 1024} KiB"
        )
    return None


def _load(field: str, text: str) -> tuple[Any, dict[tuple[Any, ...], int]] | Checked:
    """The field's YAML and the line of each key, or what to answer at once: a problem (too
    big, not YAML) or, for an empty field, nothing set and nothing wrong."""
    if (big := _too_big(field, text)) is not None:
        return Checked({}, big)
    if not text.strip():
        return Checked({}, None)
    try:
        data, lines = load_yaml_with_lines(text, field)
    except RubricError as exc:
        return Checked({}, Problem(field, exc.line, exc.message))
    if data is None:
        return Checked({}, None)
    return data, lines


def rubric_check(text: str) -> Checked:
    """The rubric as the `rubric:` key of exercise.yaml holds it; empty text is no rubric (every
    criterion at its default weight), as in the files."""
    loaded = _load("rubric", text)
    if isinstance(loaded, Checked):
        return loaded
    data, lines = loaded
    try:
        return Checked(rubric_from_data(data, filename="rubric", lines=lines).as_data(), None)
    except RubricError as exc:
        return Checked({}, Problem("rubric", exc.line, exc.message))


def tests_check(text: str) -> Checked:
    """The behaviour tests as the `tests:` key holds them: a container-structure-test mapping,
    validated as `check_course` and the grader validate it."""
    field = "tests"
    loaded = _load(field, text)
    if isinstance(loaded, Checked):
        return loaded
    data, lines = loaded
    if not isinstance(data, dict):
        return Checked({}, Problem(field, lines.get(()), "tests must be a container-structure-test mapping"))
    try:
        validate_spec(data)
    except SpecError as exc:
        return Checked({}, Problem(field, _spec_line(str(exc), lines), str(exc)))
    return Checked(data, None)


def _spec_line(message: str, lines: dict[tuple[Any, ...], int]) -> int | None:
    """validate_spec names where it is (`commandTests[1] "name": ...`) but not the line: the
    nearest key or item it names that the document has."""
    found = _SPEC_WHERE.match(message)
    if found is None:
        return lines.get(())
    path: tuple[Any, ...] = (found["key"],)
    if found["index"] is not None:
        path = (*path, int(found["index"]))
    field = re.search(r"unknown field '([^']+)'", message)
    candidates = [(*path, field[1])] if field else []
    candidates += [path, path[:1], ()]
    return next((lines[p] for p in candidates if p in lines), None)


def dump(data: Any) -> str:
    """Data as YAML the way `export_course` writes it."""
    if not data:
        return ""
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)
