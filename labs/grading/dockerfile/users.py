"""Who the image runs as: a non-root final USER, and no sudo in RUN.

Each check is named after its criterion (`texts/users.yaml`)."""

from __future__ import annotations

from labs.grading.catalogue import (
    CheckResult,
    Finding,
    Say,
    Text,
    findings_text,
    lines_of,
    particle,
)
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
            return say.result(
                "pass",
                "nonroot (base image)",
                (root.line,),
                Text(
                    f"line {root.line}: no USER, but `{root.base_resolved}` already runs as a non-root user.",
                    f"{root.line}번째 줄: USER는 없지만 {particle(f'`{root.base_resolved}`', '이')} 이미 root가 "
                    "아닌 사용자로 "
                    "실행됩니다.",
                ),
            )
        return say.result(
            "fail",
            "root (no USER)",
            (final_line,),
            Text(
                f"line {final_line}: the final stage never sets USER, so the container runs as root.",
                f"{final_line}번째 줄: 최종 스테이지에 USER가 없어 컨테이너가 root로 실행됩니다.",
            ),
        )
    last = users[-1]
    raw = " ".join(last.args)
    user = facts.expand(raw, facts.env_at(last), last, "this USER").strip()
    if not _user_is_root(user):
        return say.result(
            "pass",
            user,
            (last.start_line,),
            Text(
                f"line {last.start_line}: the container runs as `{user}`.",
                f"{last.start_line}번째 줄: 컨테이너가 `{user}` 사용자로 실행됩니다.",
            ),
        )
    earlier = next((u for u in reversed(users[:-1]) if not _user_is_root(" ".join(u.args))), None)
    if earlier is not None:
        detail = Text(
            f"line {last.start_line}: `USER {raw}` comes after `USER {' '.join(earlier.args)}` "
            f"(line {earlier.start_line}), so the container runs as root again; switch back after the "
            "root-only steps.",
            f"{last.start_line}번째 줄: {particle(f'`USER {raw}`', '이')} `USER "
            f"{' '.join(earlier.args)}`({earlier.start_line}번째 줄) "
            "뒤에 있어 컨테이너가 다시 root로 실행됩니다. root가 필요한 단계 뒤에 다시 일반 사용자로 "
            "바꾸세요.",
        )
    else:
        detail = Text(
            f"line {last.start_line}: `USER {raw}` runs the container as root.",
            f"{last.start_line}번째 줄: {particle(f'`USER {raw}`', '은')} 컨테이너를 root로 실행합니다.",
        )
    return say.result("fail", user or "root", (last.start_line,), detail)


def no_sudo(inp: StaticInput, say: Say) -> CheckResult:
    findings = [
        Finding(
            c.line,
            f"`sudo {' '.join(c.words[:2])}`",
            particle(f"`sudo {' '.join(c.words[:2])}`", "을") + " 씁니다",
        )
        for run in inp.facts.runs
        for c in run.cmds
        if c.sudo or c.name in ("sudo", "doas")
    ]
    if findings:
        return say.result("fail", len(findings), lines_of(findings), findings_text(findings))
    return say.result("pass", 0, (), Text("No RUN uses sudo.", "sudo를 쓰는 RUN이 없습니다."))
