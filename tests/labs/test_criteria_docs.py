"""docs/criteria.md is the catalogue, written out: it names every registered criterion once, with
its teaching text in both languages, and a change to a criterion that is not written out fails."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from labs.grading.reference import criteria_markdown
from labs.grading.registry import all_criteria
from labs.management.commands.criteria_docs import DOC


def test_the_criteria_reference_in_docs_is_what_the_catalogue_says_now() -> None:
    out = StringIO()
    call_command("criteria_docs", "--check", stdout=out)  # raises, naming the command, when stale
    assert out.getvalue().strip() == f"{DOC} is up to date"


def test_every_criterion_has_one_section_with_both_languages() -> None:
    text = criteria_markdown()
    for cid, entry in all_criteria().items():
        assert text.count(f"### `{cid}`:") == 1, cid
        section = text.split(f"### `{cid}`:")[1].split("\n### ")[0]
        for words in (entry.criterion.why.en, entry.criterion.why.ko, entry.criterion.fix.ko):
            assert words.replace("|", "\\|").replace("\n", " ") in section, cid


def test_a_stale_reference_is_refused_with_the_command_that_mends_it(tmp_path, monkeypatch) -> None:
    stale = tmp_path / "criteria.md"
    stale.write_text("# Criteria\n")
    monkeypatch.setattr("labs.management.commands.criteria_docs.DOC", stale)
    with pytest.raises(CommandError, match=r"criteria.md is stale: run `manage.py criteria_docs`"):
        call_command("criteria_docs", "--check", stdout=StringIO())
