"""The criteria catalogue: stable ids, categories and the teaching text that goes with every
result. Ids appear in rubrics and in feedback, so an id is never renamed silently.

Checks live beside their criterion (`labs/grading/static.py` for the Dockerfile,
`labs/grading/image.py` for the built image and runs) and register with `criterion()`.
Nothing here talks to Docker or Django."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, TypeVar

Category = Literal["optimisation", "security", "correctness"]
Source = Literal["dockerfile", "image", "run"]
Verdict = Literal["pass", "partial", "fail", "skip"]

CATEGORIES: tuple[Category, ...] = ("optimisation", "security", "correctness")


class Text(NamedTuple):
    """Student-facing text in both languages the interface speaks."""

    en: str
    ko: str

    def get(self, language: str) -> str:
        return self.ko if language.startswith("ko") else self.en


NO_TEXT = Text("", "")


@dataclass(frozen=True)
class Criterion:
    id: str
    category: Category
    source: Source
    title: Text
    why: Text
    fix: Text
    anchors: tuple[str, ...] = ()  # what the reference tools call it: "hadolint DL3009", "dockle CIS-DI-0001"
    default_weight: int = 5


@dataclass(frozen=True)
class CheckResult:
    """One criterion's result. `fraction` is the credit in [0, 1]; when None it follows the
    verdict (pass 1, partial 0.5, fail 0). `skip` means it could not be measured (the build
    failed, say) and is left out of the score; a criterion that does not apply (no pip in the
    Dockerfile) is a pass with `value` saying so."""

    criterion: str
    verdict: Verdict
    value: Any = None
    lines: tuple[int, ...] = ()
    detail: Text = NO_TEXT
    fraction: float | None = None

    def credit(self) -> float:
        if self.fraction is not None:
            return max(0.0, min(1.0, self.fraction))
        return {"pass": 1.0, "partial": 0.5, "fail": 0.0, "skip": 0.0}[self.verdict]

    def as_dict(self) -> dict[str, Any]:
        return {
            "criterion": self.criterion,
            "verdict": self.verdict,
            "value": self.value,
            "lines": list(self.lines),
            "detail": {"en": self.detail.en, "ko": self.detail.ko},
            "credit": self.credit(),
        }


@dataclass(frozen=True)
class Registered:
    criterion: Criterion
    check: Callable[..., CheckResult]
    options: Mapping[str, Any] = field(default_factory=dict)
    validate: Callable[[Mapping[str, Any]], str | None] | None = None


REGISTRY: dict[str, Registered] = {}

F = TypeVar("F", bound=Callable[..., CheckResult])


def criterion(
    id: str,
    *,
    category: Category,
    source: Source,
    title: Text,
    why: Text,
    fix: Text,
    anchors: tuple[str, ...] = (),
    default_weight: int = 5,
    options: Mapping[str, Any] | None = None,
    validate: Callable[[Mapping[str, Any]], str | None] | None = None,
) -> Callable[[F], F]:
    """Registers a check under a stable criterion id. `options` are the thresholds a rubric
    may set for it, with their defaults (a rubric naming any other option is rejected);
    `validate` returns a message when a combination of options makes no sense."""

    def register(check: F) -> F:
        if id in REGISTRY:
            raise ValueError(f"criterion {id} registered twice")
        prefix = {"optimisation": "opt.", "security": "sec.", "correctness": "run."}[category]
        if not id.startswith(prefix):
            raise ValueError(f"criterion {id} in category {category} must start with {prefix}")
        REGISTRY[id] = Registered(
            Criterion(id, category, source, title, why, fix, anchors, default_weight),
            check,
            options or {},
            validate,
        )
        return check

    return register


def all_criteria() -> dict[str, Registered]:
    """Every registered criterion (importing the check modules registers them)."""
    from labs.grading import image, static  # noqa: F401

    return REGISTRY
