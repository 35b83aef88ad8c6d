"""Image criteria judged on plain evidence: the verdicts, values and teaching text a student sees."""

from __future__ import annotations

from labs.grading.image import Rebuild, RebuildStep
from labs.grading.registry import all_criteria
from tests.labs.image_evidence import MB, Found, Health, Ran, Report, User, ev, judge


def test_image_size_gets_full_credit_under_the_threshold_and_a_curve_above_it():
    assert judge("opt.image_size", ev(size=140 * MB), full_at_mb=150, zero_at_mb=350).verdict == "pass"
    mid = judge("opt.image_size", ev(size=250 * MB), full_at_mb=150, zero_at_mb=350)
    assert mid.verdict == "partial" and mid.credit() == 0.5 and mid.lines == (9,)
    assert judge("opt.image_size", ev(size=400 * MB), full_at_mb=150, zero_at_mb=350).verdict == "fail"


def test_image_size_is_judged_against_the_reference_solution_when_there_is_one():
    result = judge("opt.image_size", ev(size=130 * MB, reference_size=100 * MB))
    assert result.verdict == "partial"  # 130 > 100 x 1.15
    assert "reference solution: 100.0 MB" in result.detail.en
    assert "모범 답안" in result.detail.ko


def test_running_as_root_fails_and_says_how_it_was_found():
    result = judge("sec.non_root", ev(user=User(0), user_line=None))
    assert result.verdict == "fail" and "uid 0" in result.detail.en and result.lines == (9,)
    assert judge("sec.non_root", ev(user=User(10001), user_line=14)).lines == (14,)
    scratch = judge("sec.non_root", ev(user=User(65534, method="config")))
    assert scratch.verdict == "pass" and "image config" in scratch.detail.en


def test_a_key_deleted_in_a_later_layer_still_fails_and_the_student_is_told_why():
    report = Report(secret_files=(Found("/root/.ssh/id_rsa", deleted_later=True),))
    result = judge("sec.no_secret_files", ev(report=report))
    assert result.verdict == "fail"
    assert "deleted in a later layer, but still in the image" in result.detail.en


def test_package_caches_and_build_tools_fail_with_their_paths():
    report = Report(
        package_caches=(Found("/var/lib/apt/lists", 18 * MB),), build_tools=(Found("/usr/bin/gcc-12"),)
    )
    caches = judge("opt.no_package_caches", ev(report=report, dependency_lines=(3,)))
    assert caches.verdict == "fail" and "/var/lib/apt/lists" in caches.detail.en and caches.lines == (3,)
    assert judge("opt.no_build_tools", ev(report=report)).verdict == "fail"
    assert judge("opt.no_build_tools", ev(report=Report())).verdict == "pass"


def test_setuid_files_inherited_from_the_base_do_not_count_but_new_ones_do():
    report = Report(setuid_files=(Found("/usr/bin/su"), Found("/app/helper")))
    result = judge("sec.setuid", ev(report=report, base_setuid=frozenset({"/usr/bin/su"})))
    assert result.verdict == "fail" and result.value == 1 and "/app/helper" in result.detail.en


def test_secrets_in_the_history_fail():
    history = ("ARG DB_PASSWORD=hunter2", "RUN |1 DB_PASSWORD=hunter2 /bin/sh -c echo hi")
    assert judge("sec.no_history_secrets", ev(history=history)).verdict == "fail"
    assert judge("sec.no_history_secrets", ev(history=("ENV PASSWORD_FILE=$X",))).verdict == "pass"


def test_dependency_install_rebuilt_after_a_source_edit_fails_the_cache_check():
    rebuilt = Rebuild("app.py", True, (RebuildStep("RUN pip install -r requirements.txt", 4, "done", True),))
    cached = Rebuild("app.py", True, (RebuildStep("RUN pip install -r requirements.txt", 4, "cached", True),))
    fail = judge("opt.build_cache", ev(rebuild=rebuilt))
    assert fail.verdict == "fail" and fail.lines == (4,) and "app.py" in fail.detail.en
    assert judge("opt.build_cache", ev(rebuild=cached)).verdict == "pass"


def test_efficiency_uses_dives_default_thresholds():
    good = judge("opt.efficiency", ev(report=Report(efficiency=0.98, user_wasted_percent=0.02)))
    bad = judge(
        "opt.efficiency",
        ev(report=Report(efficiency=0.54546, wasted_bytes=4_500_000, user_wasted_percent=1.0)),
    )
    assert good.verdict == "pass"
    assert bad.verdict == "fail" and bad.value["wasted_bytes"] == 4_500_000  # 55 % efficient, all wasted


def test_every_criterion_explains_why_and_how_to_fix_in_both_languages():
    for cid, reg in all_criteria().items():
        c = reg.criterion
        for text in (c.title, c.why, c.fix):
            assert text.en.strip() and text.ko.strip(), cid
            assert any("\uac00" <= ch <= "\ud7a3" for ch in text.ko), f"{cid}: Korean text is Korean"


def test_layer_count_counts_only_the_layers_added_on_top_of_the_base():
    assert judge("opt.layer_count", ev(layer_count=9, base_layer_count=4)).verdict == "pass"
    many = judge("opt.layer_count", ev(layer_count=24, base_layer_count=4))
    assert many.verdict == "fail" and many.value == 20 and many.lines == (9,)


def test_a_health_check_is_judged_only_when_the_exercise_asks_for_one():
    assert judge("run.healthcheck", ev(health=None)).value == "not asked"
    missing = judge("run.healthcheck", ev(health=Health("none")), required=True)
    assert missing.verdict == "fail" and "no HEALTHCHECK" in missing.detail.en
    ok = judge("run.healthcheck", ev(health=Health("healthy"), healthcheck_line=12), required=True)
    assert ok.verdict == "pass" and ok.lines == (12,)
    bad = judge("run.healthcheck", ev(health=Health("unhealthy", ("exit 1: refused",))), required=True)
    assert bad.verdict == "fail" and "exit 1: refused" in bad.detail.en


def test_behaviour_tests_give_credit_per_passing_test_and_name_the_first_failure():
    tests = [
        Ran("command", "says hello", True),
        Ran("file_existence", "app in /app", False, ("File /app/app.py should exist but does not",)),
    ]
    result = judge("run.behaviour", ev(structure=tests))
    assert result.verdict == "partial" and result.credit() == 0.5
    assert "'app in /app' failed: File /app/app.py should exist" in result.detail.en
    assert judge("run.behaviour", ev(structure=[Ran("command", "ok", True)])).verdict == "pass"
    broken = judge("run.behaviour", ev(structure_error="The exercise's behaviour tests are invalid: x"))
    assert broken.verdict == "fail"
