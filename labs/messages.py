"""Korean for the refusals and build failures a student reads. `sandbox` speaks English and
gives each message a stable code and its parameters; this turns them into Korean, falling back
to the English text when a code or parameter is unknown."""

from __future__ import annotations

from collections.abc import Mapping

KO: dict[str, str] = {
    "too_large": "Dockerfile이 {size}바이트로 한도 {limit}바이트를 넘습니다. 긴 스크립트는 빌드 컨텍스트의 파일로 옮겨 COPY 하세요.",
    "not_utf8": "Dockerfile이 올바른 UTF-8 텍스트가 아닙니다({byte}번째 바이트). UTF-8로 저장하고 바이너리 데이터를 지우세요.",
    "syntax_directive": "'# syntax={value}' 지시어는 쓸 수 없습니다. 빌더가 프런트엔드 이미지를 내려받아 실행하게 되는데, "
    "이 샌드박스는 오프라인이고 그런 이미지를 믿지 않습니다. 이 줄을 지우면 내장 Dockerfile 문법이 쓰입니다.",
    "base_not_allowed": '베이스 이미지 "{base}"는 여기서 쓸 수 없습니다. 다음 중 하나를 쓰세요: {allowed}',
    "copy_from_not_allowed": "--from={ref}는 이 Dockerfile의 빌드 스테이지도, 사용 가능한 이미지도 아니어서 빌더가 "
    "내려받아야 합니다. 스테이지 이름(FROM ... AS <이름>)이나 다음 이미지 중 하나를 쓰세요: {allowed}",
    "insecure_security": "RUN --security=insecure는 특권 빌드 단계를 요청하는데, 여기서는 허용되지 않습니다. 플래그를 지우세요.",
    "run_network": "RUN --network={network}는 쓸 수 없습니다. 여기서는 모든 빌드 단계가 네트워크 없이 실행됩니다. "
    "플래그를 지우고, 빌드 컨텍스트의 파일이나 베이스 이미지에 있는 것만 설치하세요.",
    "mount_type_not_allowed": "RUN --mount=type={type}는 쓸 수 없습니다. 마운트를 지우고 필요한 것은 빌드 컨텍스트에 "
    "넣으세요(실제 자격 증명은 절대 넣지 마세요).",
    "cache_mount_source": "{options}가 있는 캐시 마운트는 쓸 수 없습니다(캐시 밖의 파일이 드러날 수 있음, "
    "CVE-2024-23651). type=cache,target=<디렉터리>만 남기세요.",
    "mount_from_not_allowed": "RUN --mount=...,from={ref}는 이 Dockerfile의 앞선 빌드 스테이지를 가리켜야 합니다. "
    "앞 스테이지 이름을 쓰거나 파일을 COPY 하세요.",
    "add_url": 'ADD "{source}"는 빌더가 샌드박스 밖에서 가져오게 되므로 허용되지 않습니다. 파일을 빌드 컨텍스트에 넣고 COPY 하세요.',
    "heredoc_unsupported": "히어독({marker})은 Docker Engine 23 이상에서만 빌드됩니다. 이 플랫폼의 엔진은 더 오래되어 "
    "{instruction} {marker}를 빌드할 수 없습니다. 명령을 `&&`와 줄 이음(\\)으로 이어 쓰세요.",
    "timeout": "빌드가 시간 제한을 넘어 중단되었습니다. 오래 걸리는 단계를 줄이거나 나누세요.",
    "image_too_large": "이미지가 크기 제한을 넘습니다. 멀티 스테이지 빌드로 결과물만 최종 이미지에 담으세요.",
    "context_too_large": "빌드 컨텍스트가 크기 제한을 넘습니다.",
    "held": "이 실습 문제에 출제자가 고쳐야 할 문제가 있으며, 출제자에게 알렸습니다. 제출물은 보관되었다가 "
    "문제가 고쳐지는 대로 채점됩니다. 시도 횟수에 포함되지 않습니다.",
    "digest_mismatch": '"{base}"는 이 플랫폼에 있는 {image}와 다른 이미지를 가리킵니다(이곳 이미지의 다이제스트는 {digest}). '
    "여기서는 이미지를 내려받지 않으므로 그 다이제스트로 고정하거나 @sha256:... 부분을 지우세요.",
    "platform_not_available": "FROM --platform={platform}는 다른 종류의 컴퓨터용 이미지를 요청합니다. 이 플랫폼은 {host} "
    "이미지만 빌드하며, 다른 플랫폼 이미지는 내려받아야만 합니다. --platform을 지우세요.",
    "onbuild_flags": "ONBUILD {instruction} {flags}는 여기서 쓸 수 없습니다. 트리거는 나중에 이 스테이지를 FROM 하는 "
    "스테이지에서 실행되어 마운트와 소스를 검사할 수 없습니다. 그 {instruction}을 필요한 스테이지에 직접 쓰세요.",
    "cache_mount_form": "캐시 마운트는 따옴표나 공백 없이 key=value 필드(영문자, 숫자, / . _ - : = + @)로만 쓰세요. "
    "예: --mount=type=cache,target=/root/.cache/pip",
    # No parameters reach this one (the sandbox gives an English message and the line only), so
    # it names every kind of bound; which one was crossed is in the English message.
    "too_complex": "Dockerfile을 읽다가 한도를 넘었습니다. 앞의 값을 두 배씩 늘리는 ARG/ENV, 아주 긴 단어나 값, "
    "수천 개의 명령이나 줄, 깊게 중첩된 sh -c나 ${{...}} 기본값, 지나치게 많은 히어독이나 스테이지, "
    "너무 많거나 긴 .dockerignore 패턴 같은 것이 원인입니다. ARG와 ENV 값은 짧게 유지하고, "
    "긴 스크립트나 데이터는 빌드 컨텍스트의 파일로 옮겨 COPY 하세요.",
}
PREFIXED = {
    "syntax": "문법 오류 — {message}",
    "unverifiable": "안전하게 빌드할 수 있는 형태로 바꾸지 못했습니다 — {message}",
    "build_error": "빌드 단계가 실패했습니다 — {message}",
}


def korean(code: str, message: str, params: Mapping[str, str] | None = None, line: int | None = None) -> str:
    params = dict(params or {})
    where = f"{line}번째 줄: " if line else ""
    if code in PREFIXED:
        return where + PREFIXED[code].format(message=message.removeprefix(f"line {line}: "))
    template = KO.get(code)
    if template is None:
        return message
    try:
        return where + template.format(**params)
    except KeyError:
        return message
