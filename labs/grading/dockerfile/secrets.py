"""Secrets and trust: no secret in ARG/ENV, TLS verification left on, no download piped into a shell.

Each check is named after its criterion (`texts/secrets.yaml`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from labs.grading.catalogue import CheckResult, Finding, Say
from labs.grading.facts import StaticInput
from labs.grading.secrecy import secret_name, secret_value
from labs.grading.shell import APT, ASSIGN_RE, INTERPRETERS, PY_RE, SHELLS, Cmd, is_pip
from sandbox.dockerfile import (
    Instruction,
    ParsedDockerfile,
)


def _arg_env_pairs(ins: Instruction) -> list[tuple[str, str | None]]:
    if ins.keyword == "ENV":
        return [(k, v) for k, v in zip(ins.args[::2], ins.args[1::2], strict=False)]
    if ins.keyword == "ARG":
        out: list[tuple[str, str | None]] = []
        for token in ins.args:
            name, eq, value = token.partition("=")
            out.append((name, value if eq else None))
        return out
    return []


def _all_instructions(parsed: ParsedDockerfile) -> Iterable[Instruction]:
    for ins in parsed.instructions:
        yield ins.inner if ins.inner is not None else ins


def no_secret_args(inp: StaticInput, say: Say) -> CheckResult:
    """Never repeats a secret value in the detail: the feedback is shown and stored."""
    findings: list[Finding] = []
    names: list[str] = []
    for ins in _all_instructions(inp.parsed):
        for name, value in _arg_env_pairs(ins):
            if secret_name(name):
                names.append(name)
                findings.append(
                    say.finding(ins.start_line, "secret_name", keyword=ins.keyword, name=f"`{name}`")
                )
            elif value is not None and secret_value(value):
                names.append(name)
                findings.append(say.finding(ins.start_line, "secret_value", keyword=ins.keyword, name=name))
    if findings:
        return say.findings("fail", names, findings)
    return say.result("pass", [], (), say.text("no_secret"))


_CURL_ARG_SHORT = frozenset("oOHdXAeubcTwmCKErYyzFUQPxD")
_TLS_ENV_OFF: dict[str, Callable[[str], bool]] = {
    "NODE_TLS_REJECT_UNAUTHORIZED": lambda v: v.strip() == "0",
    "PYTHONHTTPSVERIFY": lambda v: v.strip() == "0",
    "GIT_SSL_NO_VERIFY": lambda v: v.strip().lower() not in ("", "0", "false", "no"),
    "NPM_CONFIG_STRICT_SSL": lambda v: v.strip().lower() in ("false", "0", "no"),
    "PIP_TRUSTED_HOST": lambda v: v.strip() != "",
    "CURL_INSECURE": lambda v: v.strip().lower() not in ("", "0", "false", "no"),
}
_GIT_SSL_TAIL = re.compile(r"sslverify\s*+=?+\s*+(?:false|0|no|off)$", re.IGNORECASE)
_APT_VERIFY_OFF = re.compile(
    r"Acquire::https?::(?:[^=:]*+::)?Verify-(Peer|Host)(?:\s*+=\s*+|[^\S ]*+ \s*+)\"?false", re.IGNORECASE
)
"""`\\s*[= ]\\s*` written so that a run of blanks has one reading (possessive), not one per split."""


def _git_ssl_off(word: str) -> bool:
    """What `http\\.(?:[^ =]*\\.)?sslverify\\s*=?\\s*(false|0|no|off)$` says (`http.sslVerify=false`,
    `http.https://host/.sslverify false`), found from the end in linear time: that pattern
    backtracks over every dot after every `http.` in the word."""
    tail = _GIT_SSL_TAIL.search(word)
    if tail is None:
        return False
    head = word[: tail.start()].lower()
    if head.endswith("http."):
        return True
    at = head.rfind("http.")
    between = head[at + 5 :]
    return at >= 0 and between.endswith(".") and " " not in between and "=" not in between


def _curl_insecure(cmd: Cmd) -> bool:
    for word in cmd.words[1:]:
        if word == "--insecure":
            return True
        if word.startswith("-") and not word.startswith("--"):
            for letter in word[1:]:
                if letter == "k":
                    return True
                if letter in _CURL_ARG_SHORT:
                    break
    return False


def _tls_off_env(name: str, value: str) -> bool:
    check = _TLS_ENV_OFF.get(name.upper())
    return check is not None and check(value)


def _assigned(cmd: Cmd) -> list[tuple[str, str]]:
    pairs = list(cmd.assigns)
    if cmd.name in ("export", "declare", "typeset", "readonly", "local"):
        for word in cmd.words[1:]:
            if ASSIGN_RE.match(word):
                key, _, value = word.partition("=")
                pairs.append((key, value))
    return pairs


def _tls_problem(cmd: Cmd) -> tuple[str, dict[str, str]] | None:
    """What turns TLS verification off in `cmd`: its `says:` key and the values it names."""
    words = cmd.words
    lowered = [w.lower() for w in words]
    if cmd.name == "curl" and _curl_insecure(cmd):
        return "curl_insecure", {}
    if cmd.name == "wget" and cmd.has_flag("--no-check-certificate"):
        return "wget_no_check", {}
    if (is_pip(cmd)[0] or cmd.name in ("uv", "poetry")) and (
        cmd.has_flag("--trusted-host") or any("trusted-host" in w for w in lowered[1:])
    ):
        return "pip_trusted_host", {}
    if cmd.name in ("npm", "yarn", "pnpm"):
        joined = " ".join(lowered[1:])
        if re.search(r"strict-ssl(\s+|=)(false|0)", joined) or "--strict-ssl=false" in lowered:
            return "npm_strict_ssl", {"tool": cmd.name}
    if cmd.name == "git":
        for i, word in enumerate(words):
            if _git_ssl_off(word) or (
                word.lower().endswith("sslverify")
                and i + 1 < len(words)
                and words[i + 1].lower() in ("false", "0")
            ):
                return "git_ssl_verify", {}
    if cmd.name in APT and any(_APT_VERIFY_OFF.search(w) for w in words):
        return "apt_verify_peer", {}
    for name, value in _assigned(cmd):
        if _tls_off_env(name, value):
            return "assign_off", {"setting": f"`{name}={value}`"}
    return None


def tls_verify(inp: StaticInput, say: Say) -> CheckResult:
    findings: list[Finding] = []
    for ins in _all_instructions(inp.parsed):
        if ins.keyword in ("ENV", "ARG"):
            for name, value in _arg_env_pairs(ins):
                if value is not None and _tls_off_env(name, value.strip("\"'")):
                    setting = f"`{name}={value}`"
                    findings.append(
                        say.finding(ins.start_line, "env_off", keyword=ins.keyword, setting=setting)
                    )
    for run in inp.facts.runs:
        for c in run.cmds:
            problem = _tls_problem(c)
            if problem is not None:
                key, params = problem
                findings.append(say.finding(c.line, key, **params))
    if findings:
        findings.sort(key=lambda f: f.line)
        return say.findings("fail", len(findings), findings)
    return say.result("pass", 0, (), say.text("verified"))


_DOWNLOADERS = frozenset({"curl", "wget", "fetch"})
_SUBST_DOWNLOAD = re.compile(r"(\$\(|<\(|`)\s*(curl|wget)\b")


def no_curl_pipe_sh(inp: StaticInput, say: Say) -> CheckResult:
    findings: list[Finding] = []
    for run in inp.facts.runs:
        downloading: dict[int, Cmd] = {}
        for c in run.cmds:
            if c.name in _DOWNLOADERS:
                downloading.setdefault(c.pipeline, c)
            elif c.name in INTERPRETERS or PY_RE.match(c.name):
                source = downloading.get(c.pipeline)
                if source is not None:
                    findings.append(say.finding(c.line, "piped", pipe=f"`{source.name} … | {c.name}`"))
                    continue
            if c.name in SHELLS | {"eval", "source", "."} and any(
                _SUBST_DOWNLOAD.search(w) for w in c.words[1:]
            ):
                findings.append(say.finding(c.line, "substituted", command=f"`{c.name}`"))
    if findings:
        return say.findings("fail", len(findings), findings)
    return say.result("pass", 0, (), say.text("no_pipe"))
