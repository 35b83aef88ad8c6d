"""Korean for the refusals and build failures a student reads. `sandbox` speaks English and
gives each message a stable code and its parameters; this turns them into Korean, falling back
to the English text when a code or parameter is unknown."""

from __future__ import annotations

from collections.abc import Mapping

from sandbox import failures

KO: dict[str, str] = {
    "too_large": "Dockerfile이 {size}바이트로 한도 {limit}바이트를 넘습니다. 긴 스크립트는 빌드 컨텍스트의 파일로 옮겨 COPY 하세요.",
    "not_utf8": "Dockerfile이 올바른 UTF-8 텍스트가 아닙니다({size}바이트 중 {byte}번째 바이트). UTF-8로 저장하고 바이너리 데이터를 지우세요.",
    "syntax_directive": "'# syntax={value}' 지시어는 쓸 수 없습니다. 빌더가 프런트엔드 이미지를 내려받아 실행하게 되는데, "
    "이 샌드박스는 오프라인이고 그런 이미지를 믿지 않습니다. 이 줄을 지우면 내장 Dockerfile 문법이 쓰입니다.",
    "base_not_allowed": '베이스 이미지 "{base}"는 여기서 쓸 수 없습니다. 다음 중 하나를 쓰세요: {allowed}',
    "base_not_allowed:lookalike": '베이스 이미지 "{base}"는 여기서 쓸 수 없습니다. ASCII 글자처럼 보이지만 다른 글자가 들어 있습니다'
    '(#위치 "글자" 이름 → 닮은 ASCII 글자): {lookalikes}. 진짜 이름은 {real}입니다. ASCII 글자로 다시 입력하세요. '
    "다음 중 하나를 쓰세요: {allowed}",
    "base_not_allowed:non_ascii": '베이스 이미지 "{base}"는 여기서 쓸 수 없습니다. 이미지 이름은 ASCII 글자로만 쓰는데, 다른 글자가 '
    "들어 있습니다: {lookalikes}. 다음 중 하나를 쓰세요: {allowed}",
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
    "bidi_control": "이 줄에 글자가 표시되는 방향을 바꾸는 보이지 않는 문자가 있습니다: {chars}. 화면에 보이는 것과 엔진이 "
    '실행하는 것이 다를 수 있습니다("Trojan Source" 기법). 일부러 넣은 것이 아니라면 지우세요.',
    "chmod_bits_dropped": "{instruction} --chmod={mode} 옵션은 {bits} 비트를 요청하지만, 이 플랫폼의 엔진(Docker 20.10의 BuildKit)은 "
    "--chmod의 setuid, setgid, sticky 비트를 버립니다. 파일은 {result} 권한으로 만들어집니다. 꼭 필요하다면 RUN chmod {mode} <경로>로 "
    "설정하고, 아니라면 --chmod={result}처럼 쓰세요.",
    "onbuild_in_final": "최종 스테이지의 ONBUILD {instruction} 명령은 이미지에 트리거를 남깁니다. 이 트리거는 여러분의 빌드가 아니라 "
    "나중에 이 이미지를 FROM 하는 사람의 빌드에서 실행됩니다. 다른 사람을 위한 베이스 이미지를 만드는 것이 아니라면 지우세요.",
}
# Build failures: keyed like sandbox.failures.TEMPLATES ("code" or "code:variant"); the
# parameters are read back from the English message (`failures.parse_message`).
KO_BUILD: dict[str, str] = {
    "copy_source_missing": '`{step}`: "{source}"이(가) 빌드 컨텍스트에 없어 복사할 것이 없습니다. 빌드 컨텍스트에 있는 파일: {listing}',
    "copy_source_missing:empty": '`{step}`: "{source}"이(가) 빌드 컨텍스트에 없어 복사할 것이 없습니다. 이 실습의 빌드 컨텍스트에는 '
    "파일이 없으니 필요한 것은 RUN으로 만드세요.",
    "copy_source_missing:outside": '`{step}`: "{source}"은(는) 빌드 컨텍스트 밖에 있습니다. COPY와 ADD는 빌드 컨텍스트 안의 파일만 '
    '읽으며 "../"로 밖에 나갈 수 없습니다. 빌드 컨텍스트에 있는 파일: {listing}',
    "copy_source_missing:ignored": '`{step}`: "{source}"은(는) .dockerignore 때문에 빌드 컨텍스트에서 빠졌습니다. .dockerignore를 '
    "고치거나 그 파일을 복사하지 마세요.",
    "copy_source_missing:stage": '`{step}`: "{source}"이(가) 빌드 스테이지 "{origin}"에 없습니다. 그 스테이지가 파일을 어디에 쓰는지 '
    "확인하고 그 경로를 복사하세요.",
    "copy_source_missing:image": '`{step}`: "{source}"이(가) 이미지 {origin}에 없습니다. 그 이미지 안의 경로를 확인하세요.',
    "too_many_layers": "`{step}` 단계에서 이미지가 엔진이 쌓을 수 있는 레이어 수(베이스 이미지의 레이어를 포함해 128개)를 넘게 됩니다. "
    "RUN, COPY, ADD, WORKDIR마다 레이어가 하나씩 생기니 RUN 명령은 &&로 잇고, 디렉터리는 COPY 한 번으로 통째로 복사하세요.",
    "workdir_not_directory": "WORKDIR {path} 디렉터리를 만들 수 없습니다. 이미지 안에서 {path} 또는 그 위의 디렉터리가 디렉터리가 아니라 "
    "파일입니다. 디렉터리 경로를 쓰세요(예: WORKDIR /app).",
    "workdir_refused": "WORKDIR {path} 디렉터리는 쓸 수 없습니다. `{step}` 단계를 시작할 때 런타임이 {path} 디렉터리를 만들지 못했습니다({reason}). "
    "직접 만든 디렉터리를 쓰세요(예: WORKDIR /app).",
    "workdir_refused:kernel": "WORKDIR {path} 디렉터리는 쓸 수 없습니다. `{step}` 단계를 시작할 때 런타임이 {path} 디렉터리를 만들지 못했습니다({reason}). "
    "{top} 디렉터리는 커널이 제공하는 곳으로, 명령이 실행될 때마다 이미지 위에 덮어 마운트되므로 이미지에 있는 내용은 보이지 않습니다. "
    "직접 만든 디렉터리를 쓰세요(예: WORKDIR /app).",
    "run_no_program": "`{step}` 단계를 시작할 수 없습니다. 이미지에 프로그램 {program}이(가) 없습니다. 앞 단계에서 설치하거나, 그 프로그램이 "
    "있는 베이스 이미지를 쓰거나, 전체 경로를 쓰세요.",
    "run_no_program:shell": "`{step}` 단계를 시작할 수 없습니다. 이 스테이지의 이미지에는 {program}이(가) 없는데, 일반 명령 형태로 쓴 RUN은 "
    "{program} -c로 실행됩니다. scratch 같은 이미지에는 셸이 없으니 셸이 있는 스테이지에서 명령을 실행하고 결과를 COPY 하세요.",
    "user_not_found": "`{step}` 단계를 시작할 수 없습니다. USER로 지정한 사용자 {user}이(가) 이미지에 없습니다. 앞 단계에서 만들거나"
    "(예: RUN useradd --create-home {user}) USER 10001처럼 숫자 ID를 쓰세요.",
    "network_none": '`{step}` 단계가 네트워크에 접속하려 했지만, 이 실습의 빌드에는 네트워크가 없습니다(출력: "{evidence}"). '
    "빌드 컨텍스트의 파일(COPY로 넣기)이나 베이스 이미지에 이미 있는 것만 설치하세요.",
    "run_killed": "명령 `{command}`이(가) 끝나기 전에 강제 종료되었습니다(시그널 {signal}, {signame}). 빌드는 메모리 한도 안에 있었으므로 "
    "단계 안의 무언가(예: kill -9)가 종료시킨 것입니다. 마지막 출력:\n{output}",
    "run_killed:silent": "명령 `{command}`이(가) 끝나기 전에 강제 종료되었습니다(시그널 {signal}, {signame}). 빌드는 메모리 한도 안에 "
    "있었으므로 단계 안의 무언가(예: kill -9)가 종료시킨 것입니다. 아무것도 출력하지 않았습니다.",
    "run_failed": "명령 `{command}`이(가) 상태 {status}(으)로 끝나 빌드가 멈췄습니다(RUN 단계는 상태 0으로 끝나야 합니다). 마지막 출력:\n{output}",
    "run_failed:silent": "명령 `{command}`이(가) 상태 {status}(으)로 끝나 빌드가 멈췄습니다(RUN 단계는 상태 0으로 끝나야 합니다). "
    "아무것도 출력하지 않았습니다.",
    "run_failed:not_found": "명령 `{command}`의 종료 상태가 127입니다. 셸이 {program} 프로그램을 찾지 못했습니다. 앞 단계에서 "
    "설치하거나 그 프로그램이 있는 베이스 이미지를 쓰세요. 마지막 출력:\n{output}",
    "dockerfile_error": "엔진이 Dockerfile을 읽지 못했습니다: {detail}",
    "dockerfile_error:unknown_instruction": "{word}은(는) Dockerfile 명령어가 아닙니다. 철자를 확인하고, 긴 RUN을 이어 쓰는 중이라면 "
    "앞 줄이 백슬래시(\\)로 끝나는지 확인하세요.",
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
    if not params and code in failures.CODES:
        found = failures.parse_message(code, message, line)
        template = KO_BUILD.get(found[0]) if found else None
        if found is None or template is None:
            return message
        return where + template.format(**found[1])
    template = KO.get(f"{code}:{params['variant']}") if params.get("variant") else KO.get(code)
    if template is None:
        return message
    try:
        return where + template.format(**params)
    except KeyError:
        return message
