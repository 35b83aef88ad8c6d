"""The build log's escape codes: colours and bold are kept in a canonical form, everything
else a program can print to a terminal is removed, and hostile sequences stay bounded."""

from __future__ import annotations

import pytest

from sandbox.ansi import colours_only, sgr_params, strip

ESC = "\x1b"


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        (f"{ESC}[31mred{ESC}[0m", f"{ESC}[31mred{ESC}[0m"),
        (f"{ESC}[1;32mok{ESC}[m", f"{ESC}[1;32mok{ESC}[0m"),  # an empty body is a reset
        (f"{ESC}[01;031mx", f"{ESC}[1;31mx"),  # leading zeros, as some programs write them
        (f"{ESC}[92mbright{ESC}[39m", f"{ESC}[92mbright{ESC}[39m"),
        (f"{ESC}[22mnormal", f"{ESC}[22mnormal"),
    ],
)
def test_colour_and_bold_are_kept_in_canonical_form(raw: str, kept: str) -> None:
    assert colours_only(raw) == kept


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        (f"{ESC}]0;a title{ESC}\\text", "text"),  # window title (OSC)
        (f"{ESC}]8;;https://evil.example/{ESC}\\link{ESC}]8;;{ESC}\\", "link"),  # hyperlink
        (f"a{ESC}[2Kb{ESC}[1Ac{ESC}[10;10Hd", "abcd"),  # erase line, cursor moves
        (f"{ESC}[?25lhidden cursor{ESC}[?25h", "hidden cursor"),  # private mode
        (f"{ESC}(Bcharset{ESC}7{ESC}c", "charset"),  # designations, save cursor, full reset
        (f"{ESC}PqDCS payload{ESC}\\after", "after"),
        ("\x9b31mcsi8", "csi8"),  # an 8-bit CSI is not kept even when it is SGR
        (f"stray ESC{ESC}", "stray ESC"),
        ("stray CSI\x9b", "stray CSI"),
    ],
)
def test_every_other_sequence_is_removed(raw: str, plain: str) -> None:
    assert colours_only(raw) == plain


@pytest.mark.parametrize(
    ("body", "params"),
    [
        ("4;7;8;9", []),  # underline, inverse, hidden, strike: not drawn, so not kept
        ("41;44;107", []),  # backgrounds could hide the text: not kept
        ("38;5;31", []),  # a 256-colour index: 31 is its value, not red
        ("1;38;2;31;32;33;32", [1, 32]),  # a true colour's three values are skipped, not read
        ("38;9;31", []),  # an unknown extended form leaves the rest unreadable
        ("38", []),
        ("1;2;3;4;5;6;7;8;9;10;11;12;13;14;15;16;31", []),  # over the parameter bound
        ("0031", []),  # a parameter of four digits is not one this page knows
        ("", [0]),
        (";31", [0, 31]),
    ],
)
def test_sgr_parameters_outside_the_small_set_are_dropped(body: str, params: list[int]) -> None:
    assert sgr_params(body) == params


def test_a_sequence_with_nothing_kept_leaves_no_trace() -> None:
    assert colours_only(f"{ESC}[4;48;5;200mplain{ESC}[24m") == "plain"


def test_colon_subparameters_are_not_read_as_codes() -> None:
    assert colours_only(f"{ESC}[38:5:31mx") == "x"


def test_a_huge_sequence_is_removed_whole_and_quickly() -> None:
    hostile = f"{ESC}[" + "1;" * 200_000 + "31m" + "after"
    assert colours_only(hostile) == "after"
    endless = "before" + f"{ESC}]" + "t" * 500_000  # an OSC that never ends: the rest of the line
    assert colours_only(endless) == "before"


def test_the_output_is_never_longer_than_the_input() -> None:
    samples = [f"{ESC}[m", f"{ESC}[01;031m", f"{ESC}[;31m", f"{ESC}[0;0;0m", "x" * 10]
    for sample in samples:
        assert len(colours_only(sample)) <= len(sample) + 1  # "ESC[m" becomes "ESC[0m"


def test_strip_removes_the_colours_too() -> None:
    assert strip(f"{ESC}[1;31merror:{ESC}[0m build") == "error: build"
