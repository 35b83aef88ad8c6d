"""Runs the criteria judged from the Dockerfile text alone, before anything is built.

The checks (`labs/grading/dockerfile/`) read the one parser's output (`sandbox.dockerfile`) and
the facts worked out from it once per submission (`labs/grading/facts.py`: RUN scripts read by
`labs/grading/shell.py`, stage chains, environments). Every result names the Dockerfile line(s)
it is about. A criterion that does not apply (no apt in the file) passes with a value saying so;
`skip` is kept for a check that failed to run.

The student's text is hostile, so what is computed from it is bounded: going over a bound
raises DockerfileLimitError for the instruction's line, which `run_static` lets through as the
student's error."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from labs.grading.catalogue import CheckResult
from labs.grading.facts import Facts, StaticInput
from labs.grading.registry import DOCKERFILE_IDS, REGISTRY
from sandbox.dockerfile import DockerfileLimitError, ParsedDockerfile
from sandbox.dockerignore import dockerignore_rules, norm_context_path

logger = logging.getLogger(__name__)


def run_static(
    text: str,
    parsed: ParsedDockerfile,
    *,
    dockerignore: str | None,
    context_paths: Iterable[str],
    options_by_id: Mapping[str, Mapping[str, Any]] | None = None,
    only: Iterable[str] | None = None,
) -> list[CheckResult]:
    """Runs every Dockerfile criterion (or `only` those ids, still in catalogue order).

    A check that raises is our bug, not the student's: it is logged and reported as `skip`
    (left out of the score) so the other criteria are still graded. DockerfileLimitError is
    the exception: a bound on reading the student's text was reached, and that is theirs."""
    wanted = set(DOCKERFILE_IDS if only is None else only)
    unknown = wanted - set(DOCKERFILE_IDS)
    if unknown:
        raise ValueError(f"not a Dockerfile criterion: {', '.join(sorted(unknown))}")
    paths = frozenset(p for p in (norm_context_path(p) for p in context_paths) if p)
    facts = Facts(text, parsed)
    if dockerignore is not None:
        dockerignore_rules(dockerignore)  # over its bounds it is refused before any check runs
    results = []
    for cid in DOCKERFILE_IDS:
        if cid not in wanted:
            continue
        registered = REGISTRY[cid]
        given = (options_by_id or {}).get(cid, {})
        bad = set(given) - set(registered.options)
        if bad:
            raise ValueError(f"{cid}: unknown option {sorted(bad)[0]!r}")
        inp = StaticInput(text, parsed, dockerignore, paths, {**registered.options, **given}, facts)
        try:
            results.append(registered.check(inp, registered.say))
        except DockerfileLimitError:
            raise
        except Exception:
            logger.exception("static check %s failed", cid)
            results.append(registered.say.skip_ours())
    return results
