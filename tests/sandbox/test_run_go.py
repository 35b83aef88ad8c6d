"""sandbox.run.go: regexes, `$VAR` expansion and file modes follow Go, as container-structure-test
applies them."""

from __future__ import annotations

import pytest

from sandbox.run.go import go_expand, go_mode_string, go_regex


def test_regexes_follow_go_semantics() -> None:
    def matches(pattern: str, text: str) -> bool:
        return bool(go_regex(pattern).search(text))

    assert not matches("^out$", "out\n")  # Go's `$` does not match before a final newline
    assert matches("(?m)^out$", "first\nout\n")
    assert matches(r"\Qa.b\E", "a.b") and not matches(r"\Qa.b\E", "axb")
    assert matches("[[:digit:]]+ items", "12 items")
    assert not matches(r"\d", "\u0663")  # Arabic-Indic three: not a digit for RE2
    assert matches("a(?i)b|c", "C") and not matches("a(?i)b|c", "AB")
    assert matches(r"x\z", "x") and not matches(r"x\z", "x\n")
    for unsupported in ["(?=x)", r"(a)\1", r"\pL"]:
        with pytest.raises(ValueError):
            go_regex(unsupported)


def test_env_expansion_and_modes_follow_go() -> None:
    env = {"HOME": "/root"}.get

    def expand(text: str) -> str:
        return go_expand(text, lambda k: env(k) or "")

    assert expand("$HOME/x ${HOME}") == "/root/x /root"
    assert expand("$UNSET-$(date)-$") == "-$(date)-$"
    assert go_mode_string(0o640) == "-rw-r-----"
    assert go_mode_string((1 << 31) | (1 << 20) | 0o777) == "dtrwxrwxrwx"
    assert go_mode_string((1 << 23) | 0o755) == "urwxr-xr-x"
