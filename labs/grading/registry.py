"""Every criterion, put together from an explicit list of families: the catalogue entries of
`texts/<family>.yaml` and the checks of the family's module, matched by name (`<prefix>.<name>` is
judged by the function `<name>`). A validator for a criterion's rubric options, when it has one, is
the module's `validate_<name>`. Building the registry fails loudly when an entry has no check or
a check no entry, so a criterion cannot half exist."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from labs.grading import image
from labs.grading.catalogue import CatalogueError, CheckResult, Criterion, Say, family_criteria
from labs.grading.dockerfile import base, buildkit, hygiene, layout, packages, secrets, users

FAMILIES: tuple[tuple[str, ModuleType], ...] = (
    ("base", base),
    ("users", users),
    ("packages", packages),
    ("secrets", secrets),
    ("layout", layout),
    ("buildkit", buildkit),
    ("hygiene", hygiene),
    ("image", image),
)
"""In the order criteria run and are reported."""


@dataclass(frozen=True)
class Registered:
    criterion: Criterion
    check: Callable[..., CheckResult]
    say: Say
    validate: Callable[[Mapping[str, Any]], str | None] | None = None

    @property
    def options(self) -> Mapping[str, Any]:
        return self.criterion.options


def _build() -> dict[str, Registered]:
    registry: dict[str, Registered] = {}
    for family, module in FAMILIES:
        for criterion in family_criteria(family):
            if criterion.id in registry:
                raise CatalogueError(f"criterion {criterion.id} is declared twice")
            check = getattr(module, criterion.name, None)
            if not callable(check):
                raise CatalogueError(
                    f"texts/{family}.yaml: {criterion.id} has no check {module.__name__}.{criterion.name}"
                )
            validate = getattr(module, f"validate_{criterion.name}", None)
            registry[criterion.id] = Registered(criterion, check, Say(criterion), validate)
    return registry


REGISTRY: dict[str, Registered] = _build()

DOCKERFILE_IDS: tuple[str, ...] = tuple(i for i, r in REGISTRY.items() if r.criterion.source == "dockerfile")
"""The Dockerfile criteria, in the order they run and are reported."""


def all_criteria() -> dict[str, Registered]:
    return REGISTRY
