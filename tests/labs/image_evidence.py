"""Plain stand-ins for the evidence image and run criteria are judged from (layer reports, the
effective user, a health check, behaviour-test results), shared by the image criteria's tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labs.grading.catalogue import CheckResult
from labs.grading.image import ImageEvidence
from labs.grading.registry import all_criteria

MB = 1_000_000


@dataclass
class Found:
    path: str
    size_bytes: int = 0
    deleted_later: bool = False


@dataclass
class Waste:
    path: str
    count: int


@dataclass
class Report:
    efficiency: float = 1.0
    wasted_bytes: int = 0
    user_wasted_percent: float = 0.0
    inefficiencies: tuple = ()
    secret_files: tuple = ()
    setuid_files: tuple = ()
    build_tools: tuple = ()
    package_caches: tuple = ()


@dataclass
class User:
    uid: int | None
    method: str = "shell"
    detail: str = ""


@dataclass
class Health:
    status: str
    log: tuple = ()


@dataclass
class Ran:
    kind: str
    name: str
    passed: bool
    messages: tuple = ()


def ev(**kw: Any) -> ImageEvidence:
    base: dict[str, Any] = dict(
        size=120 * MB, layer_count=8, base_layer_count=4, config_user="", history=(), final_from_line=9
    )
    return ImageEvidence(**{**base, **kw})


def judge(cid: str, evidence: ImageEvidence, **options: Any) -> CheckResult:
    reg = all_criteria()[cid]
    return reg.check(evidence, {**reg.options, **options}, reg.say)
