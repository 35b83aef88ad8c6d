"""Everything the client says, in English and Korean. The language is the user's `--lang`,
else `LAYERLAB_LANG`, else the locale (`LC_ALL`, `LC_MESSAGES`, `LANG`): Korean for `ko*`."""

from __future__ import annotations

import os

TEXTS: dict[str, tuple[str, str]] = {
    "logged_in": (
        "Logged in to {url} as {user}. The token is kept in {path}.",
        "{url}에 {user}(으)로 로그인했습니다. 토큰은 {path}에 보관됩니다.",
    ),
    "logged_out": (
        "Logged out: the token is revoked and forgotten.",
        "로그아웃했습니다: 토큰을 폐기하고 지웠습니다.",
    ),
    "logged_out_local": (
        "The server did not take the token back ({why}); it is forgotten here.",
        "서버가 토큰을 폐기하지 못했습니다({why}). 이 컴퓨터에서는 지웠습니다.",
    ),
    "not_logged_in": (
        "Not logged in: run `layerlab login <server address>` first.",
        "로그인하지 않았습니다: 먼저 `layerlab login <서버 주소>`를 실행하세요.",
    ),
    "token_refused": (
        "The server refused the token ({why}). Run `layerlab login {url}` again.",
        "서버가 토큰을 거부했습니다({why}). `layerlab login {url}`을 다시 실행하세요.",
    ),
    "username": ("Username: ", "사용자 이름: "),
    "password": ("Password: ", "비밀번호: "),
    "token_empty": ("No token on standard input.", "표준 입력에 토큰이 없습니다."),
    "unreachable": ("Could not reach {url}: {why}", "{url}에 연결하지 못했습니다: {why}"),
    "server_fault": (
        "The server could not answer ({status}). Try again in a moment.",
        "서버가 응답하지 못했습니다({status}). 잠시 후 다시 시도하세요.",
    ),
    "retry_after": ("Try again in {seconds} s.", "{seconds}초 뒤에 다시 시도하세요."),
    "no_file": ("Cannot read {path}: {why}", "{path}을(를) 읽을 수 없습니다: {why}"),
    "too_big": (
        "{path} is larger than {limit} KB: is it the Dockerfile?",
        "{path}이(가) {limit} KB보다 큽니다: Dockerfile이 맞나요?",
    ),
    "not_utf8": (
        "{path} is not UTF-8 text (line {line}): save it as UTF-8.",
        "{path}은(는) UTF-8 텍스트가 아닙니다({line}번째 줄): UTF-8로 저장하세요.",
    ),
    "unknown_exercise": (
        "No exercise {name}. Run `layerlab exercises` to see yours.",
        "{name} 실습이 없습니다. `layerlab exercises`로 목록을 보세요.",
    ),
    "ambiguous_exercise": (
        "{name} is in more than one course; name one: {choices}",
        "{name} 실습이 여러 과정에 있습니다. 하나를 고르세요: {choices}",
    ),
    "using_dockerignore": ("Sending {path} as the .dockerignore.", "{path}을(를) .dockerignore로 보냅니다."),
    "practice_note": (
        "This is practice: it counts for no assignment. To hand it in for “{title}”, add --assignment {id}.",
        "연습 제출입니다: 어떤 과제에도 반영되지 않습니다. “{title}” 과제로 내려면 "
        "--assignment {id}를 붙이세요.",
    ),
    "submitted": (
        "Submitted #{id} ({exercise}). Follow it on the web: {url}",
        "#{id} 제출됨 ({exercise}). 웹에서 보기: {url}",
    ),
    "reconnecting": (
        "Connection lost; reconnecting from event {seq}…",
        "연결이 끊겼습니다. {seq}번 이벤트부터 다시 연결합니다…",
    ),
    "polling": (
        "Live connection unavailable; checking every few seconds.",
        "실시간 연결을 쓸 수 없어 몇 초마다 확인합니다.",
    ),
    "detached": (
        "Stopped watching; the grading goes on. Follow it again: layerlab show {id} --follow",
        "보기를 멈췄습니다. 채점은 계속됩니다. 다시 보기: layerlab show {id} --follow",
    ),
    "steps": ("Build steps", "빌드 단계"),
    "step_line": ("step {n}/{m} {state} {name}", "단계 {n}/{m} {state} {name}"),
    "score": ("Score: {score} / 100 (passing {passing})", "점수: {score} / 100 (통과 기준 {passing})"),
    "passed": ("Passed.", "통과했습니다."),
    "below": ("Below {wanted}: see the findings above.", "{wanted}점 미만입니다: 위의 결과를 보세요."),
    "build_failed": ("Not graded: {message}", "채점되지 않음: {message}"),
    "at_line": ("line {line}", "{line}번째 줄"),
    "our_fault": (
        "We could not grade this: {message} It does not count as an attempt.",
        "채점하지 못했습니다: {message} 시도 횟수에 들어가지 않습니다.",
    ),
    "held": (
        "Waiting for the exercise to be fixed: {message} It will be graded then and does not "
        "count until it is. Follow it: layerlab show {id} --follow",
        "실습 수정을 기다리는 중입니다: {message} 수정되면 채점되며 그때까지는 반영되지 않습니다. "
        "보기: layerlab show {id} --follow",
    ),
    "image": (
        "Image: {size}, {layers} layers, built in {seconds} s",
        "이미지: {size}, 레이어 {layers}개, 빌드 {seconds}초",
    ),
    "in_progress": (
        "Still {status}. Follow it: layerlab show {id} --follow",
        "아직 {status} 상태입니다. 보기: layerlab show {id} --follow",
    ),
    "no_exercises": (
        "No exercises yet: join a course on the web first.",
        "아직 실습이 없습니다: 먼저 웹에서 과정에 참여하세요.",
    ),
    "counts_for": (
        "#{id} {title} · due {due} · attempts {used} used, {left} left · {now}",
        "#{id} {title} · 마감 {due} · 시도 {used}회 사용, {left}회 남음 · {now}",
    ),
    "col_exercise": ("exercise", "실습"),
    "col_title": ("title", "제목"),
    "col_passing": ("passing", "통과 기준"),
    "col_criterion": ("criterion", "기준"),
    "col_verdict": ("verdict", "판정"),
    "col_points": ("points", "점수"),
    "accepted": ("open", "제출 가능"),
    "unlimited": ("no limit", "무제한"),
}

STATUS_KO: dict[str, str] = {
    "queued": "빌드 워커를 기다리는 중입니다.",
    "building": "이미지를 빌드하고 있습니다.",
    "analysing": "이미지를 측정하고 있습니다.",
    "baseline": "비교 기준이 되는 일반 빌드 인터프리터를 만들고 있습니다(실습마다 한 번, 약 2분).",
    "benchmark": "여러분의 인터프리터를 일반 빌드와 번갈아 실행해 속도를 재고 있습니다(약 30초).",
    "retrying": (
        "저희 쪽 문제로 이 제출을 채점하지 못했습니다. 자동으로 다시 시도하니 다시 제출하지 않아도 됩니다."
    ),
    "released": "실습이 수정되어 지금 채점합니다.",
    "no_host": (
        "이 실습을 빌드할 수 있는 빌드 호스트를 기다리는 중입니다. "
        "운영진에게 알렸으며, 시도 횟수에 포함되지 않습니다."
    ),
}
"""The server's fixed status messages (by `message_code`) in Korean, as its pages show them;
any other message comes with its own `message_ko`."""

VERDICTS: dict[str, tuple[str, str]] = {
    "pass": ("pass", "통과"),
    "partial": ("partial", "부분"),
    "fail": ("fail", "실패"),
    "skip": ("skip", "건너뜀"),
}

STATES: dict[str, tuple[str, str]] = {
    "waiting": ("WAIT", "대기"),
    "running": ("RUN", "실행"),
    "cached": ("CACHED", "캐시"),
    "done": ("DONE", "완료"),
    "error": ("ERROR", "오류"),
    "canceled": ("CANCELED", "취소"),
}


def language(choice: str | None = None) -> str:
    if choice in ("en", "ko"):
        return choice
    for name in ("LAYERLAB_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "ko" if value.lower().startswith("ko") else "en"
    return "en"


class Say:
    """Texts in one language: `say("score", score=90)`; a bilingual payload field
    (`{"en": …, "ko": …}`) through `say.pick`."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, key: str, **fields: object) -> str:
        en, ko = TEXTS[key]
        return (ko if self.lang == "ko" else en).format(**fields)

    def pick(self, value: object) -> str:
        if isinstance(value, dict):
            return str(value.get(self.lang) or value.get("en") or "")
        return "" if value is None else str(value)

    def status(self, payload: dict[str, object]) -> str:
        if self.lang == "ko":
            fixed = STATUS_KO.get(str(payload.get("message_code") or ""))
            if fixed or payload.get("message_ko"):
                return str(fixed or payload.get("message_ko"))
        return str(payload.get("message") or payload.get("status") or "")

    def verdict(self, verdict: str) -> str:
        en, ko = VERDICTS.get(verdict, (verdict, verdict))
        return ko if self.lang == "ko" else en

    def state(self, state: str) -> str:
        en, ko = STATES.get(state, (state.upper(), state))
        return ko if self.lang == "ko" else en
