"""Who the image runs as: a non-root final USER, and no sudo in RUN.

Each check is named after its criterion (`texts/users.yaml`)."""

from __future__ import annotations

from labs.grading.catalogue import CheckResult, Say
from labs.grading.facts import StaticInput, split_image


def _user_is_root(user: str) -> bool:
    name = user.split(":", 1)[0].strip()
    return name in ("", "root", "0")


def final_user(inp: StaticInput, say: Say) -> CheckResult:
    facts = inp.facts
    users = [i for i in facts.chain_instructions(facts.final) if i.keyword == "USER"]
    final_line = facts.final.line
    if not users:
        root = facts.final_chain[-1]
        _, tag, _ = split_image(root.base_resolved)
        if tag and "nonroot" in tag.lower():
            detail = say.text("nonroot_base", line=root.line, image=f"`{root.base_resolved}`")
            return say.result("pass", "nonroot (base image)", (root.line,), detail)
        return say.result("fail", "root (no USER)", (final_line,), say.text("no_user", line=final_line))
    last = users[-1]
    raw = " ".join(last.args)
    user = facts.expand(raw, facts.env_at(last), last, "this USER").strip()
    if not _user_is_root(user):
        return say.result(
            "pass", user, (last.start_line,), say.text("runs_as", line=last.start_line, user=user)
        )
    earlier = next((u for u in reversed(users[:-1]) if not _user_is_root(" ".join(u.args))), None)
    if earlier is not None:
        detail = say.text(
            "root_again",
            line=last.start_line,
            instruction=f"`USER {raw}`",
            earlier=f"`USER {' '.join(earlier.args)}`",
            earlier_line=earlier.start_line,
        )
    else:
        detail = say.text("root", line=last.start_line, instruction=f"`USER {raw}`")
    return say.result("fail", user or "root", (last.start_line,), detail)


def no_sudo(inp: StaticInput, say: Say) -> CheckResult:
    findings = [
        say.finding(c.line, "sudo", command=f"`sudo {' '.join(c.words[:2])}`")
        for run in inp.facts.runs
        for c in run.cmds
        if c.sudo or c.name in ("sudo", "doas")
    ]
    if findings:
        return say.findings("fail", len(findings), findings)
    return say.result("pass", 0, (), say.text("no_sudo"))
