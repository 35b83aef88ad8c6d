"""The one secret detector: whether a variable's name says it holds a secret, and whether a
value looks like a credential. The Dockerfile's ARG/ENV and the image's history are judged by the same words, so a name that is a secret in
one is a secret in the other. (Secret *files* in the layers are found by their paths, in
`sandbox/layers`.)

Values come from students: every pattern here is searched without backtracking on a long run."""

from __future__ import annotations

import itertools
import math
import re

_SECRET_WORDS = frozenset(
    {
        "PASSWORD",
        "PASSWD",
        "PASS",
        "PASSPHRASE",
        "PWD_SECRET",
        "SECRET",
        "SECRETS",
        "TOKEN",
        "CREDENTIAL",
        "CREDENTIALS",
        "CREDS",
        "APIKEY",
        "PRIVATEKEY",
        "AUTHTOKEN",
    }
)
_SECRET_PAIRS = frozenset(
    {
        ("API", "KEY"),
        ("ACCESS", "KEY"),
        ("PRIVATE", "KEY"),
        ("SECRET", "KEY"),
        ("AUTH", "KEY"),
        ("CLIENT", "SECRET"),
        ("ENCRYPTION", "KEY"),
        ("MASTER", "KEY"),
        ("SIGNING", "KEY"),
        ("LICENSE", "KEY"),
    }
)
_NOT_SECRET_LAST = frozenset(
    {"URL", "URI", "PATH", "FILE", "DIR", "HOST", "ENDPOINT", "SERVER", "NAME", "USER", "USERNAME", "TYPE"}
)
_PUBLIC_KEY_PREFIX = frozenset({"PUBLIC", "PUB", "GPG", "PGP", "SORT", "CACHE", "PARTITION"})
_KEY_VALUE_RE = re.compile(
    r"(AKIA|ASIA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30}|github_pat_[A-Za-z0-9_]{30}|glpat-[A-Za-z0-9_-]{20}"
    r"|xox[abposr]-[A-Za-z0-9-]{10}|sk-[A-Za-z0-9_-]{20}|AIza[0-9A-Za-z_-]{35}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY"
    r"|(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,}+\.eyJ[A-Za-z0-9_-]{10,}+\."
)
"""Searched, never matched whole: `{30}` finds what `{30,}` did without running to the end of
every `github_pat_` in a long value, and a JWT is tried only where a run of its characters
starts (`eyJeyJeyJ...` would otherwise be re-read from every `eyJ`: quadratic)."""
_TOKEN_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")


def secret_name(name: str) -> bool:
    """Whether an ARG/ENV name says it holds a secret. Names that point at a secret (`*_FILE`,
    `*_URL`, `*_PATH`) and public-key material used to verify downloads (`GPG_KEY`,
    `PUBLIC_KEY`) are not secrets; `TOKENIZERS_PARALLELISM` and `KEYBOARD` are not either."""
    tokens = [t.upper() for t in _TOKEN_SPLIT.split(name) if t]
    if not tokens or tokens[-1] in _NOT_SECRET_LAST:
        return False
    if any(t in _SECRET_WORDS for t in tokens):
        return True
    if any(pair in _SECRET_PAIRS for pair in itertools.pairwise(tokens)):
        return True
    if tokens[-1] in ("KEY", "KEYS"):
        return len(tokens) == 1 or tokens[-2] not in _PUBLIC_KEY_PREFIX
    return False


def _entropy(value: str) -> float:
    counts: dict[str, int] = {}
    for ch in value:
        counts[ch] = counts.get(ch, 0) + 1
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def secret_value(value: str) -> bool:
    """Whether a value looks like a credential: a known key format, or a long random string
    (hex-only strings are checksums and fingerprints, not flagged)."""
    value = value.strip().strip("\"'")
    if _KEY_VALUE_RE.search(value):
        return True
    if len(value) < 32 or "$" in value or not re.fullmatch(r"[A-Za-z0-9+/=_-]+", value):
        return False
    if re.fullmatch(r"[0-9a-fA-F]+", value):
        return False
    classes = sum(1 for pattern in ("[a-z]", "[A-Z]", "[0-9]") if re.search(pattern, value))
    return classes == 3 and _entropy(value) >= 4.2
