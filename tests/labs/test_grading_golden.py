"""Every Dockerfile in the frozen corpus is graded exactly as it was when the corpus was last
updated (`python -m tests.golden update` after a deliberate change, and read the diff).

A criterion added since is not in the corpus yet and is left out of the comparison; everything
else (refusals, notices, each result's verdict, value, lines, credit and text in both
languages) must match."""

from __future__ import annotations

import json
from typing import Any

from tests.golden import GOLDEN, grade_case


def _comparable(graded: dict[str, Any], known: dict[str, Any]) -> dict[str, Any]:
    if "results" in graded and "results" in known:
        graded = {**graded, "results": {k: v for k, v in graded["results"].items() if k in known["results"]}}
    return graded


def test_every_corpus_dockerfile_is_graded_as_frozen() -> None:
    cases = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert len(cases) > 250
    changed = []
    for case in cases:
        now = _comparable(grade_case(case), case["graded"])
        if now != case["graded"]:
            changed.append((case["name"], case["graded"], now))
    shown = "\n\n".join(f"{name}\n was: {was}\n now: {now}" for name, was, now in changed[:3])
    assert not changed, f"{len(changed)} of {len(cases)} Dockerfiles are graded differently:\n{shown}"
