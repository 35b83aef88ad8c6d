"""Rubrics are checked when loaded (file and line in every message) and score as documented."""

from __future__ import annotations

import pytest

from labs.grading.catalogue import CheckResult
from labs.grading.rubric import RubricError, rubric_from_data, rubric_load, score

EXERCISE_YAML = """\
title: Python app
rubric:
  required_cap: 50
  criteria:
    - id: opt.multi_stage
      weight: 20
      required: true
    - id: sec.non_root
      weight: 20
    - id: opt.image_size
      weight: 10
      options:
        full_at_mb: 150
        zero_at_mb: 400
"""


def test_a_valid_rubric_loads_with_weights_options_and_required_flags():
    rubric = rubric_load(EXERCISE_YAML, "exercise.yaml")
    assert [i.id for i in rubric.items] == ["opt.multi_stage", "sec.non_root", "opt.image_size"]
    assert rubric.required_cap == 50
    assert rubric.item("opt.multi_stage").required
    assert rubric.options_for("opt.image_size")["full_at_mb"] == 150
    assert rubric.options_for("opt.image_size")["reference_slack"] == 1.15  # the default fills in


@pytest.mark.parametrize(
    ("broken", "line", "words"),
    [
        (EXERCISE_YAML.replace("opt.multi_stage", "opt.multistage"), 5, "did you mean opt.multi_stage"),
        (
            EXERCISE_YAML.replace("weight: 20\n      required: true", "weight: -3\n      required: true"),
            6,
            "weight must be a positive",
        ),
        (EXERCISE_YAML.replace("zero_at_mb: 400", "zero_at_mb: 100"), 13, "zero_at_mb must be larger"),
        (EXERCISE_YAML.replace("full_at_mb: 150", "full_mb: 150"), 13, "unknown option 'full_mb'"),
        (EXERCISE_YAML.replace("required: true", "required: maybe"), 7, "required must be true or false"),
        (EXERCISE_YAML.replace("    - id: sec.non_root", "    - id: opt.multi_stage"), 8, "listed twice"),
        (EXERCISE_YAML.replace("required_cap: 50", "required_cap: 150"), 3, "required_cap"),
        ("rubric:\n  criteria: []\n", 2, "non-empty"),
        ("rubric:\n  criteria:\n    - id: [oops\n", 3, "not valid YAML"),
    ],
)
def test_a_broken_rubric_is_rejected_with_the_file_and_line(broken, line, words):
    with pytest.raises(RubricError) as error:
        rubric_load(broken, "exercises/py/exercise.yaml")
    assert error.value.line == line
    assert str(error.value).startswith(f"exercises/py/exercise.yaml:{line}: ")
    assert words in str(error.value)


def r(cid: str, verdict: str, fraction: float | None = None) -> CheckResult:
    return CheckResult(cid, verdict, fraction=fraction)  # type: ignore[arg-type]


def test_points_follow_the_weights_and_partial_credit():
    rubric = rubric_from_data(
        {
            "criteria": [
                {"id": "opt.multi_stage", "weight": 30},
                {"id": "sec.non_root", "weight": 10},
                {"id": "opt.image_size", "weight": 10},
            ]
        }
    )
    result = score(
        rubric, [r("opt.multi_stage", "pass"), r("sec.non_root", "fail"), r("opt.image_size", "partial", 0.5)]
    )
    assert result.total == 70.0  # 60 + 0 + 10
    points = {s.result.criterion: (s.points, s.max_points) for s in result.items}
    assert points == {
        "opt.multi_stage": (60.0, 60.0),
        "sec.non_root": (0.0, 20.0),
        "opt.image_size": (10.0, 20.0),
    }


def test_a_failed_required_criterion_caps_the_score():
    rubric = rubric_from_data(
        {
            "required_cap": 40,
            "criteria": [
                {"id": "opt.multi_stage", "weight": 10},
                {"id": "sec.non_root", "weight": 10, "required": True},
            ],
        }
    )
    result = score(rubric, [r("opt.multi_stage", "pass"), r("sec.non_root", "fail")])
    assert result.total == 40.0 and result.capped
    assert result.failed_required == ("sec.non_root",)


def test_a_required_criterion_only_partly_passed_caps_the_score_too():
    # three of four behaviour tests pass, but the app itself does not start: not a working image
    rubric = rubric_from_data(
        {
            "criteria": [
                {"id": "opt.multi_stage", "weight": 80},
                {"id": "run.behaviour", "weight": 20, "required": True},
            ],
        }
    )
    result = score(rubric, [r("opt.multi_stage", "pass"), r("run.behaviour", "partial", 0.75)])
    assert result.total == 59.0 and result.capped
    assert result.failed_required == ("run.behaviour",)


def test_an_unmeasured_criterion_leaves_the_denominator():
    rubric = rubric_from_data(
        {"criteria": [{"id": "opt.multi_stage", "weight": 10}, {"id": "opt.efficiency", "weight": 10}]}
    )
    result = score(rubric, [r("opt.multi_stage", "pass"), r("opt.efficiency", "skip")])
    assert result.total == 100.0
