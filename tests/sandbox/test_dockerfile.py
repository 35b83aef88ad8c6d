import os
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.dockerfile import DockerfileSyntaxError, frontend_directive, parse

NODE_MULTI_STAGE = """\
# escape=\\
ARG NODE_VERSION=18
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev

FROM deps AS build
COPY . .
RUN npm run build

FROM node:${NODE_VERSION}-bookworm-slim
WORKDIR /app
COPY --from=build /app/dist ./dist
COPY --from=deps /app/node_modules ./node_modules
USER node
CMD ["node", "dist/server.js"]
"""


def syntax_error(text: str) -> DockerfileSyntaxError:
    with pytest.raises(DockerfileSyntaxError) as info:
        parse(text)
    return info.value


def test_multi_stage_node_file_resolves_arg_in_from_and_recognises_stage_references() -> None:
    parsed = parse(NODE_MULTI_STAGE)

    assert dict(parsed.args_before_from) == {"NODE_VERSION": "18"}
    deps, build, final = parsed.stages
    assert (deps.index, deps.name, deps.line) == (0, "deps", 3)
    assert deps.base == "node:${NODE_VERSION}-bookworm-slim"
    assert deps.base_resolved == "node:18-bookworm-slim"
    assert not deps.is_stage_ref
    assert (build.name, build.base_resolved, build.is_stage_ref) == ("build", "deps", True)
    assert (final.name, final.base_resolved, final.is_stage_ref) == (
        None,
        "node:18-bookworm-slim",
        False,
    )
    copy = next(i for i in parsed.instructions if i.flags == ("--from=build",))
    assert (copy.keyword, copy.args, copy.start_line, copy.stage) == (
        "COPY",
        ("/app/dist", "./dist"),
        14,
        2,
    )
    cmd = parsed.instructions[-1]
    assert (cmd.keyword, cmd.json, cmd.args) == ("CMD", True, ("node", "dist/server.js"))


def test_stage_reference_is_case_insensitive_and_only_to_earlier_stages() -> None:
    parsed = parse("FROM later\nFROM debian:bookworm-slim AS Builder\nFROM builder\n")

    assert [s.is_stage_ref for s in parsed.stages] == [False, False, True]
    assert parsed.stage_named("BUILDER") is parsed.stages[1]


def test_keywords_are_upper_cased_and_stage_names_kept() -> None:
    parsed = parse("from python:3.11-slim as Base\nrun echo hi\n")

    assert [i.keyword for i in parsed.instructions] == ["FROM", "RUN"]
    assert parsed.stages[0].name == "Base"


def test_arg_defaults_forms_and_unset_args_are_reported_not_mangled() -> None:
    parsed = parse(
        'ARG A="python" B=${A}:3.11-slim C\n'
        "FROM ${B}\n"
        "FROM ${C:-debian:bookworm-slim}\n"
        "FROM $C\n"
        "FROM $NEVER_DECLARED\n"
    )

    assert dict(parsed.args_before_from) == {"A": "python", "B": "python:3.11-slim", "C": None}
    first, second, third, fourth = parsed.stages
    assert first.base_resolved == "python:3.11-slim"
    assert second.base_resolved == "debian:bookworm-slim"
    assert (third.base_resolved, third.unresolved_args) == ("$C", ("C",))
    assert fourth.unresolved_args == ("NEVER_DECLARED",)


def test_platform_flag_is_recorded_on_the_stage() -> None:
    parsed = parse("FROM --platform=$BUILDPLATFORM golang:1.19-bookworm AS build\n")

    assert parsed.stages[0].platform == "$BUILDPLATFORM"
    assert parsed.stages[0].base_resolved == "golang:1.19-bookworm"


def test_line_continuations_give_start_and_end_lines() -> None:
    parsed = parse(
        "FROM debian:bookworm-slim\n"
        "RUN apt-get update && \\\n"
        "    # a comment inside the continuation\n"
        "    apt-get install -y --no-install-recommends curl && \\\n"
        "    rm -rf /var/lib/apt/lists/*\n"
        "USER nobody\n"
    )

    run, user = parsed.instructions[1:]
    assert (run.start_line, run.end_line) == (2, 5)
    assert "apt-get install -y --no-install-recommends curl" in run.args[0]
    assert (user.start_line, user.end_line) == (6, 6)


def test_escape_directive_makes_backtick_the_continuation_character() -> None:
    parsed = parse("# escape=`\nFROM debian:bookworm-slim\nRUN echo one `\n    two\nUSER nobody\n")

    assert parsed.escape == "`"
    assert parsed.directives["escape"].value == "`"
    assert parsed.directives["escape"].line == 1
    run = parsed.instructions[1]
    assert (run.start_line, run.end_line) == (3, 4)
    assert run.args[0].split() == ["echo", "one", "two"]


def test_directives_count_only_at_the_very_top() -> None:
    top = parse("# syntax=docker/dockerfile:1\n# escape=`\nFROM scratch\n")
    after_comment = parse("# hello\n# escape=`\nFROM scratch\n")
    after_blank = parse("\n# syntax=docker/dockerfile:1\nFROM scratch\n")

    assert {k: (d.value, d.line) for k, d in top.directives.items()} == {
        "syntax": ("docker/dockerfile:1", 1),
        "escape": ("`", 2),
    }
    assert dict(after_comment.directives) == {}
    assert after_comment.escape == "\\"
    assert dict(after_blank.directives) == {}


def test_frontend_directive_is_found_where_buildkit_would_still_honour_it() -> None:
    behind_shebang = frontend_directive("#!/usr/bin/env docker\n# syntax=evil/frontend\nFROM x\n")
    slash_comment = frontend_directive("// syntax = evil/frontend\nFROM x\n")
    after_instruction = frontend_directive("FROM x\n# syntax=evil/frontend\n")

    assert behind_shebang is not None
    assert (behind_shebang.value, behind_shebang.line) == ("evil/frontend", 2)
    assert slash_comment is not None and slash_comment.line == 1
    assert after_instruction is None


def test_heredoc_content_is_available() -> None:
    parsed = parse(
        "FROM python:3.11-slim\n"
        "RUN <<EOF\n"
        "set -e\n"
        "pip install flask\n"
        "EOF\n"
        "COPY <<CONF /etc/app.conf\n"
        "debug=false\n"
        "CONF\n"
        'CMD ["python"]\n'
    )

    run, copy, cmd = parsed.instructions[1:]
    assert run.heredocs == (("EOF", "set -e\npip install flask\n"),)
    assert (run.start_line, run.end_line) == (2, 5)
    assert copy.heredocs[0].name == "CONF"
    assert copy.heredocs[0].content == "debug=false\n"
    assert cmd.start_line == 9


def test_onbuild_trigger_keeps_its_flags_and_heredocs() -> None:
    parsed = parse(
        "FROM debian:bookworm-slim\n"
        "ONBUILD RUN --network=host \\\n"
        "    echo hi\n"
        "ONBUILD RUN <<EOF\n"
        "echo body\n"
        "EOF\n"
    )

    first, second = parsed.instructions[1:]
    assert first.keyword == "ONBUILD"
    assert first.inner is not None
    assert (first.inner.keyword, first.inner.flags) == ("RUN", ("--network=host",))
    assert (first.inner.start_line, first.inner.end_line) == (2, 3)
    assert second.inner is not None
    assert second.heredocs == (("EOF", "echo body\n"),)
    assert second.inner.heredocs == second.heredocs


def test_onbuild_from_is_refused() -> None:
    err = syntax_error("FROM debian:bookworm-slim\nONBUILD FROM scratch\n")

    assert err.line == 2
    assert "not allowed as an ONBUILD trigger" in err.message


def test_unknown_instruction_is_refused_with_a_suggestion() -> None:
    err = syntax_error("FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nRUN pip install .\n\nFORM scratch\n")

    assert err.line == 6
    assert err.message == 'line 6: unknown instruction "FORM" (did you mean FROM?)'


def test_unknown_instruction_without_a_close_match_has_no_suggestion() -> None:
    err = syntax_error("FROM scratch\nXYZZY foo\n")

    assert err.message == 'line 2: unknown instruction "XYZZY"'


def test_instruction_before_first_from_is_refused() -> None:
    err = syntax_error("ARG V=1\nRUN echo too early\nFROM scratch\n")

    assert err.line == 2
    assert "RUN comes before the first FROM" in err.message
    assert "only ARG" in err.message


def test_file_without_from_is_refused() -> None:
    err = syntax_error("ARG V=1\n")

    assert "no FROM instruction" in err.message


def test_empty_file_is_refused() -> None:
    err = syntax_error("# just a comment\n\n")

    assert err.line is None
    assert "empty" in err.message


def test_go_parser_error_gets_the_line_of_the_broken_instruction() -> None:
    err = syntax_error(
        "FROM debian:bookworm-slim\nRUN <<EOF\nfrom os import path\nEOF\n\nENV ONLY_A_NAME\nRUN true\n"
    )

    assert err.line == 6
    assert err.message.startswith("line 6: ENV needs a name and a value")


def test_unterminated_heredoc_points_at_its_first_line() -> None:
    err = syntax_error("FROM debian:bookworm-slim\nRUN true\nRUN <<EOF\necho never closed\n")

    assert err.line == 3
    assert "never closed" in err.message


def test_invalid_escape_directive_is_refused_on_its_line() -> None:
    err = syntax_error("# escape=x\nFROM scratch\n")

    assert err.line == 1
    assert "escape" in err.message


def test_nul_character_is_refused_rather_than_silently_truncating() -> None:
    err = syntax_error("FROM scratch\n# \x00\nFROM evil:latest\n")

    assert err.line == 2
    assert "NUL" in err.message


def test_byte_order_mark_is_ignored() -> None:
    parsed = parse("\ufeff# escape=`\nFROM scratch\n")

    assert parsed.escape == "`"
    assert parsed.stages[0].line == 2


def test_form_feed_in_a_line_does_not_shift_reported_line_numbers() -> None:
    err = syntax_error('FROM scratch\nLABEL note="a\x0cb"\nENV ONLY_A_NAME\n')

    assert err.line == 3


def test_duplicate_stage_name_is_refused() -> None:
    err = syntax_error("FROM scratch AS a\nFROM scratch AS A\n")

    assert err.line == 2
    assert "duplicate stage name" in err.message


def test_error_inside_a_continuation_points_at_the_instruction() -> None:
    err = syntax_error("FROM scratch\nLABEL a=b \\\n    c\nUSER nobody\n")

    assert err.line == 2
    assert err.message == 'line 2: "c" has no "=": write each item as name=value'


def test_error_in_the_middle_of_a_long_file_with_heredocs_is_located() -> None:
    block = "RUN <<EOF\nfrom app import main\nRUN is only text here\nEOF\n"
    text = "FROM python:3.11-slim\n" + block * 300 + "ENV BROKEN\n" + block * 300

    err = syntax_error(text)

    assert err.line == 1 + 4 * 300 + 1


# The Go parser and fork ---------------------------------------------------------------------

_ROOT = Path(__file__).resolve().parents[2]


def _python(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test"}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=_ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_worker_imports_everything_it_runs_without_loading_the_go_parser() -> None:
    # Celery's main process imports the tasks, then forks its pool: the parser must be loaded in
    # the pool processes only (a forked Go runtime hangs sooner or later).
    done = _python(
        "import sys, django; django.setup()\n"
        "from config.celery import app\n"
        "app.loader.import_default_modules()\n"
        "import labs.tasks, labs.hosts, labs.services, labs.pipeline\n"
        "print('dockerfile' in sys.modules)\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_a_process_forked_after_the_parser_was_loaded_refuses_to_parse_instead_of_hanging() -> None:
    done = _python(
        "import os\n"
        "from sandbox.dockerfile import parse\n"
        "parse('FROM scratch\\n')\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    try:\n"
        "        parse('FROM scratch\\n')\n"
        "    except RuntimeError as exc:\n"
        "        print(exc, flush=True)\n"
        "        os._exit(3)\n"
        "    os._exit(0)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "print(os.waitstatus_to_exitcode(status))\n"
        "print(len(parse('FROM scratch\\nUSER 1\\n').instructions))\n"
    )
    assert done.returncode == 0, done.stderr
    said = done.stdout.splitlines()
    assert said[0].startswith("the Dockerfile parser was loaded before this process was forked")
    assert said[1:] == ["3", "2"]
