"""labs/grading/catalogue.py: the formatter, the loader's checks on texts/*.yaml, the generic
result texts (`common:` in texts/failures.yaml), and that every `says:` template and the checks
that use it agree."""

from __future__ import annotations

import ast
import inspect
from types import ModuleType
from typing import Any

import pytest

from labs.grading.catalogue import (
    MAX_SHOWN,
    CatalogueError,
    Criterion,
    Finding,
    Say,
    Text,
    _criterion,
    common_texts,
    findings_text,
    render,
)
from labs.grading.registry import REGISTRY

# --- the formatter -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "value", "expected"),
    [
        ("{w:을}", "install", "install을"),  # l, m, n, ng are read with a final consonant
        ("{w:을}", "update", "update를"),
        ("{w:를}", "install", "install을"),  # either form may be written
        ("{w:으로}", "`npm ci`", "`npm ci`로"),  # the quotes around the word are skipped
        ("{w:으로}", "`npm run`", "`npm run`으로"),
        ("{w:으로}", "`install`", "`install`로"),  # ㄹ takes 로
        ("{w:은}", "`apt-get`", "`apt-get`는"),
        ("{w:이}", "`USER admin`", "`USER admin`이"),
        ("{w:이}", "`USER root`", "`USER root`가"),
        ("{w:이}", "사과", "사과가"),  # Hangul: by the last syllable's final consonant
        ("{w:을}", "수박", "수박을"),
        ("{w:으로}", "서울", "서울로"),
        ("{w:으로}", "부산", "부산으로"),
        ("{w:과}", "빌드", "빌드와"),
        ("{w:을}", 3, "3을"),  # digits as Sino-Korean numbers: 삼
        ("{w:을}", 2, "2를"),  # 이
        ("{w:으로}", 1, "1로"),  # 일
        ("{w:으로}", 6, "6으로"),  # 육
        ("{w:이}", "5개", "5개가"),
    ],
)
def test_a_particle_field_adds_the_particle_that_fits_the_value(
    template: str, value: Any, expected: str
) -> None:
    assert render(template, w=value) == expected


def test_a_value_is_never_read_as_a_template() -> None:
    assert render("{x:을} 씁니다; {y}", x="`${VAR:-{a}}`", y="{z}") == "`${VAR:-{a}}`를 씁니다; {z}"


# --- the loader ----------------------------------------------------------------------------------


def _entry(**says: Any) -> dict[str, Any]:
    both = {"en": "Text", "ko": "글"}
    return {
        "category": "security",
        "source": "dockerfile",
        "title": both,
        "why": both,
        "fix": both,
        "says": says,
    }


def test_a_well_formed_entry_loads_with_its_templates() -> None:
    criterion = _criterion(
        "sec.example", _entry(found={"en": "line {line}: `{x}`", "ko": "{line}번째 줄: {x:을}"}), "t"
    )
    assert criterion.says == {"found": Text("line {line}: `{x}`", "{line}번째 줄: {x:을}")}


@pytest.mark.parametrize(
    ("says", "message"),
    [
        (
            {"found": {"en": "Found."}},
            r"texts/t\.yaml: sec\.example: says\.found: needs exactly en and ko, got \['en'\]",
        ),
        ({"found": {"ko": "있습니다."}}, r"says\.found: needs exactly en and ko, got \['ko'\]"),
        (
            {"found": {"en": "Found.", "ko": "있습니다.", "fr": "Trouvé."}},
            r"says\.found: needs exactly en and ko",
        ),
        ({"found": {"en": "Found.", "ko": " "}}, r"says\.found: en and ko must both be non-empty text"),
        ({"found": "Found."}, r"says\.found: needs exactly en and ko"),
        (
            {"found": {"en": "line {line}", "ko": "{row}번째 줄"}},
            r"says\.found: en and ko name different values",
        ),
        (
            {"found": {"en": "`{x}` and {y}", "ko": "{x:을} 씁니다"}},
            r"says\.found: en and ko name different values",
        ),
    ],
)
def test_a_template_without_both_languages_or_with_different_values_is_refused(
    says: dict[str, Any], message: str
) -> None:
    with pytest.raises(CatalogueError, match=message):
        _criterion("sec.example", _entry(**says), "t")


def test_says_must_be_a_mapping() -> None:
    entry = {**_entry(), "says": ["found"]}
    with pytest.raises(CatalogueError, match=r"sec\.example: says: not a mapping"):
        _criterion("sec.example", entry, "t")


def test_the_teaching_text_needs_both_languages_too() -> None:
    entry = {**_entry(), "fix": {"en": "Do this."}}
    with pytest.raises(CatalogueError, match=r"sec\.example: fix: needs exactly en and ko"):
        _criterion("sec.example", entry, "t")


# --- the generic texts (texts/failures.yaml, common:) --------------------------------------------


def test_the_common_texts_are_in_both_languages_with_the_same_values() -> None:
    assert set(common_texts()) == {"finding", "separator", "more", "not_used"}


def test_findings_are_listed_on_their_lines_and_the_rest_counted() -> None:
    findings = [Finding(n, f"en {n}", f"ko {n}") for n in range(1, MAX_SHOWN + 3)]
    assert findings_text(findings) == Text(
        "line 1: en 1; line 2: en 2; line 3: en 3; line 4: en 4; line 5: en 5; line 6: en 6; and 2 more",
        "1번째 줄: ko 1; 2번째 줄: ko 2; 3번째 줄: ko 3; 4번째 줄: ko 4; 5번째 줄: ko 5; "
        "6번째 줄: ko 6 외 2건",
    )
    assert findings_text(findings[:1]) == Text("line 1: en 1", "1번째 줄: ko 1")


def test_a_finding_quoting_braces_is_listed_as_written() -> None:
    assert findings_text([Finding(4, "`${A:-{b}}`", "`{c}`")]) == Text(
        "line 4: `${A:-{b}}`", "4번째 줄: `{c}`"
    )


def test_a_step_not_used_is_a_pass_saying_so_in_each_language() -> None:
    result = Say(REGISTRY["opt.exec_form"].criterion).not_used("dependency install", "의존성 설치")
    assert result.as_dict() == {
        "criterion": "opt.exec_form",
        "verdict": "pass",
        "value": "not used",
        "lines": [],
        "detail": {
            "en": "Not used in this Dockerfile: dependency install.",
            "ko": "이 Dockerfile에는 의존성 설치 단계가 없습니다.",
        },
        "credit": 1.0,
    }


# --- says: and the checks ------------------------------------------------------------------------


def _module_tree(module: ModuleType) -> ast.Module:
    return ast.parse(inspect.getsource(module))


def _strings(node: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def _said_keys(node: ast.AST) -> list[tuple[int, str]]:
    """The keys named by `say.text("key", ...)` and `say.finding(line, "key", ...)` under `node`."""
    keys = []
    for call in ast.walk(node):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
            continue
        if not (isinstance(call.func.value, ast.Name) and call.func.value.id == "say"):
            continue
        at = {"text": 0, "finding": 1}.get(call.func.attr)
        if at is not None and len(call.args) > at:
            key = call.args[at]
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                keys.append((call.lineno, key.value))
    return keys


def _by_module() -> dict[ModuleType, list[Criterion]]:
    modules: dict[ModuleType, list[Criterion]] = {}
    for registered in REGISTRY.values():
        module = inspect.getmodule(registered.check)
        assert module is not None
        modules.setdefault(module, []).append(registered.criterion)
    return modules


def test_every_says_template_is_named_in_its_checks_module() -> None:
    unused = []
    for module, criteria in _by_module().items():
        named = _strings(_module_tree(module))
        unused += [f"{c.id}: says.{key}" for c in criteria for key in c.says if key not in named]
    assert unused == []


def test_every_template_a_check_names_is_in_its_entry() -> None:
    """A key named in a check must be in that criterion's `says:`; one named in a helper of the
    module, in the `says:` of one of the module's criteria."""
    missing = []
    for module, criteria in _by_module().items():
        tree = _module_tree(module)
        by_name = {c.name: c for c in criteria}
        in_checks: set[int] = set()
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name in by_name:
                criterion = by_name[node.name]
                for line, key in _said_keys(node):
                    in_checks.add(line)
                    if key not in criterion.says:
                        missing.append(f"{module.__name__}:{line}: {criterion.id} has no says.{key}")
        any_key = {key for c in criteria for key in c.says}
        missing += [
            f"{module.__name__}:{line}: no criterion of the module has says.{key}"
            for line, key in _said_keys(tree)
            if line not in in_checks and key not in any_key
        ]
    assert missing == []


def test_the_source_reader_finds_the_keys_a_check_names() -> None:
    """The two tests above read the checks' source: this is what they find in it."""
    tree = ast.parse(
        "def f(inp, say):\n"
        "    found = [say.finding(3, 'a', x=1), other.text('no')]\n"
        "    return say.result('pass', 0, (), say.text('b', y=2))\n"
    )
    assert sorted(_said_keys(tree)) == [(2, "a"), (3, "b")]
