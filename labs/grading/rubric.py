"""Rubrics: which criteria count for an exercise, how much, with what thresholds, and which are
required. A rubric that names an unknown criterion, a bad threshold or weights that make no
sense is rejected when it is loaded, with the file and the line."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from labs.grading.catalogue import CheckResult
from labs.grading.registry import Registered, all_criteria

DEFAULT_REQUIRED_CAP = 59.0
DEFAULT_PASSING_SCORE = 60.0
"""The score that passes unless the rubric says otherwise: above what a missed required
criterion leaves, so a pass means every required criterion was met."""

Path = tuple[str | int, ...]


class RubricError(ValueError):
    def __init__(self, filename: str, line: int | None, message: str) -> None:
        where = f"{filename}:{line}" if line else filename
        super().__init__(f"{where}: {message}")
        self.filename = filename
        self.line = line
        self.message = message


@dataclass(frozen=True)
class RubricItem:
    id: str
    weight: float
    required: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rubric:
    items: tuple[RubricItem, ...]
    required_cap: float = DEFAULT_REQUIRED_CAP
    passing_score: float = DEFAULT_PASSING_SCORE

    def item(self, criterion_id: str) -> RubricItem | None:
        return next((i for i in self.items if i.id == criterion_id), None)

    def options_for(self, criterion_id: str) -> dict[str, Any]:
        registered = all_criteria()[criterion_id]
        item = self.item(criterion_id)
        return {**registered.options, **(item.options if item else {})}

    def as_data(self) -> dict[str, Any]:
        return {
            "required_cap": self.required_cap,
            **({"passing_score": self.passing_score} if self.passing_score != DEFAULT_PASSING_SCORE else {}),
            "criteria": [
                {
                    "id": i.id,
                    "weight": i.weight,
                    "required": i.required,
                    **({"options": dict(i.options)} if i.options else {}),
                }
                for i in self.items
            ],
        }


@dataclass(frozen=True)
class ScoredCriterion:
    result: CheckResult
    weight: float
    required: bool
    points: float
    max_points: float


@dataclass(frozen=True)
class Score:
    total: float
    capped: bool
    items: tuple[ScoredCriterion, ...]
    failed_required: tuple[str, ...]


def _lines_of(node: yaml.Node, path: Path = ()) -> dict[Path, int]:
    """Maps every key and item path in a YAML document to its 1-based line."""
    out: dict[Path, int] = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[(*path, key)] = key_node.start_mark.line + 1
            out.update({k: v for k, v in _lines_of(value_node, (*path, key)).items() if k != (*path, key)})
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            out.update(_lines_of(item, (*path, index)))
    return out


def load_yaml_with_lines(text: str, filename: str) -> tuple[Any, dict[Path, int]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if mark is not None and mark.line >= len(text.splitlines()):
            mark = getattr(exc, "context_mark", None) or mark  # "end of file" is no help to an author
        raise RubricError(filename, mark.line + 1 if mark else None, f"not valid YAML: {exc}") from exc
    return data, (_lines_of(node) if node is not None else {})


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def rubric_from_data(
    data: Any, *, filename: str = "rubric", lines: Mapping[Path, int] | None = None, base: Path = ()
) -> Rubric:
    """Validates plain data (from an exercise's YAML `rubric:` key, at `base` in that file)."""
    lines = lines or {}

    def fail(path: Path, message: str) -> RubricError:
        full = (*base, *path)
        while full and full not in lines:
            full = full[:-1]
        return RubricError(filename, lines.get(full), message)

    registry = all_criteria()
    if isinstance(data, list):
        data = {"criteria": data}
    if not isinstance(data, dict):
        raise fail((), "a rubric is a mapping with a `criteria:` list")
    unknown_keys = set(data) - {"criteria", "required_cap", "passing_score"}
    if unknown_keys:
        raise fail((sorted(unknown_keys)[0],), f"unknown rubric key {sorted(unknown_keys)[0]!r}")
    cap = data.get("required_cap", DEFAULT_REQUIRED_CAP)
    if not _number(cap) or not 0 <= cap <= 100:
        raise fail(("required_cap",), f"required_cap must be a number from 0 to 100, not {cap!r}")
    passing = data.get("passing_score", DEFAULT_PASSING_SCORE)
    if not _number(passing) or not 0 <= passing <= 100:
        raise fail(("passing_score",), f"passing_score must be a number from 0 to 100, not {passing!r}")
    raw = data.get("criteria")
    if not isinstance(raw, list) or not raw:
        raise fail(("criteria",), "`criteria:` must be a non-empty list")
    items: list[RubricItem] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        here: Path = ("criteria", index)
        if isinstance(entry, str):
            entry = {"id": entry}
        if not isinstance(entry, dict) or "id" not in entry:
            raise fail(here, "each criterion needs an `id:`")
        cid = entry["id"]
        if cid not in registry:
            close = difflib.get_close_matches(str(cid), list(registry), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise fail((*here, "id"), f"unknown criterion id {cid!r}{hint}")
        if cid in seen:
            raise fail((*here, "id"), f"criterion {cid} is listed twice")
        seen.add(cid)
        bad = set(entry) - {"id", "weight", "required", "options"}
        if bad:
            raise fail(
                (*here, sorted(bad)[0]),
                f"{cid}: unknown key {sorted(bad)[0]!r} (use weight, required, options)",
            )
        registered = registry[cid]
        weight = entry.get("weight", registered.criterion.default_weight)
        if not _number(weight) or not 0 < weight <= 1000:
            raise fail((*here, "weight"), f"{cid}: weight must be a positive number, not {weight!r}")
        required = entry.get("required", False)
        if not isinstance(required, bool):
            raise fail((*here, "required"), f"{cid}: required must be true or false, not {required!r}")
        options = entry.get("options", {}) or {}
        if not isinstance(options, dict):
            raise fail((*here, "options"), f"{cid}: options must be a mapping")
        _check_options(registered, options, lambda key, msg, here=here: fail((*here, "options", key), msg))
        items.append(RubricItem(cid, float(weight), required, options))
    return Rubric(tuple(items), float(cap), float(passing))


def _check_options(registered: Registered, options: Mapping[str, Any], fail: Any) -> None:
    cid = registered.criterion.id
    for key, value in options.items():
        if key not in registered.options:
            allowed = ", ".join(sorted(registered.options)) or "none"
            raise fail(key, f"{cid}: unknown option {key!r} (allowed: {allowed})")
        default = registered.options[key]
        if _number(default) and not _number(value):
            raise fail(key, f"{cid}: option {key} must be a number, not {value!r}")
        if _number(default) and value < 0:
            raise fail(key, f"{cid}: option {key} must not be negative")
        if isinstance(default, bool) and not isinstance(value, bool):
            raise fail(key, f"{cid}: option {key} must be true or false")
        if isinstance(default, str) and not isinstance(value, str):
            raise fail(key, f"{cid}: option {key} must be text")
    if registered.validate:
        problem = registered.validate({**registered.options, **options})
        if problem:
            raise fail(next(iter(options), ""), f"{cid}: {problem}")


def rubric_load(text: str, filename: str) -> Rubric:
    """Loads a rubric from an exercise YAML file's text (its `rubric:` key) or a bare rubric."""
    data, lines = load_yaml_with_lines(text, filename)
    if isinstance(data, dict) and "rubric" in data:
        return rubric_from_data(data["rubric"], filename=filename, lines=lines, base=("rubric",))
    return rubric_from_data(data, filename=filename, lines=lines)


def default_rubric(applicable: Iterable[str] | None = None) -> Rubric:
    registry = all_criteria()
    ids = list(applicable) if applicable is not None else list(registry)
    return Rubric(tuple(RubricItem(i, float(registry[i].criterion.default_weight)) for i in ids))


def score(rubric: Rubric, results: Sequence[CheckResult]) -> Score:
    """Points per criterion out of 100; skipped criteria leave the denominator; a required
    criterion that does not fully pass (fail or partial: two of four behaviour tests is not a
    working image) caps the total at `required_cap`."""
    by_id = {r.criterion: r for r in results}
    counted = [i for i in rubric.items if i.id in by_id and by_id[i.id].verdict != "skip"]
    total_weight = sum(i.weight for i in counted)
    scored: list[ScoredCriterion] = []
    failed_required: list[str] = []
    raw_total = 0.0
    for item in rubric.items:
        result = by_id.get(item.id)
        if result is None:
            continue
        max_points = 100.0 * item.weight / total_weight if total_weight and result.verdict != "skip" else 0.0
        points = max_points * result.credit()
        if item.required and result.verdict in ("fail", "partial"):
            failed_required.append(item.id)
        raw_total += points  # summed unrounded: 19 criteria at 100/19 each must still make 100
        scored.append(
            ScoredCriterion(result, item.weight, item.required, round(points, 2), round(max_points, 2))
        )
    total = raw_total
    capped = bool(failed_required) and total > rubric.required_cap
    if capped:
        total = rubric.required_cap
    return Score(round(total, 1), capped, tuple(scored), tuple(failed_required))
