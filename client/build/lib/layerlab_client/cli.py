"""`layerlab`: log in, list exercises, submit a Dockerfile and watch it graded.

Exit codes (for scripts and CI jobs):
  0  graded, at or above the passing score (or --min-score)
  1  graded, below it
  2  not graded because of what was sent: refused, failed to build, a bad command line
  3  not graded, not the sender's fault: our side or the exercise's (retry later; no attempt used)
  4  not logged in, or the token was refused or may not submit
  130  stopped watching with Ctrl-C (the grading goes on)
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import socket
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from layerlab_client import __version__, config
from layerlab_client.api import Api, ApiError
from layerlab_client.messages import Say, language
from layerlab_client.render import Live, Plain, clean, size_text
from layerlab_client.stream import Follower

EXIT_PASSED, EXIT_BELOW, EXIT_REFUSED, EXIT_NOT_GRADED, EXIT_AUTH, EXIT_DETACHED = 0, 1, 2, 3, 4, 130
MAX_FILE = 1024 * 1024


class Stop(Exception):
    """Ends the command with a message (to standard error) and an exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _exit_for(error: ApiError) -> int:
    if error.status in (401, 403):
        return EXIT_AUTH
    if error.status == 0 or error.status == 429 or error.status >= 500:
        return EXIT_NOT_GRADED
    return EXIT_REFUSED


def _explain(say: Say, error: ApiError, url: str) -> Stop:
    if error.status == 0:
        return Stop(say("unreachable", url=url, why=error.message), EXIT_NOT_GRADED)
    if error.status == 401:
        return Stop(say("token_refused", url=url, why=error.message), EXIT_AUTH)
    if error.status >= 500:
        return Stop(say("server_fault", status=error.status), EXIT_NOT_GRADED)
    text = clean(error.message)
    if error.retry_after:
        text = f"{text} {say('retry_after', seconds=error.retry_after)}"
    return Stop(text, _exit_for(error))


def _session(args: argparse.Namespace, say: Say) -> Api:
    found = config.load()
    if found is None:
        raise Stop(say("not_logged_in"), EXIT_AUTH)
    return Api(found.url, found.token, say.lang)


# Commands -------------------------------------------------------------------------------


def cmd_login(args: argparse.Namespace, say: Say) -> int:
    url = config.normalise_url(args.url)
    if args.token_stdin:
        token = sys.stdin.readline().strip()
        if not token:
            raise Stop(say("token_empty"), EXIT_REFUSED)
    else:
        username = args.username or input(say("username")).strip()
        password = (
            sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass(say("password"))
        )
        anonymous = Api(url, lang=say.lang)
        try:
            made = anonymous.token_create(
                username, password, args.name or f"layerlab on {socket.gethostname()}"[:100], args.scope
            )
        except ApiError as exc:
            raise _explain(say, exc, url) from exc
        finally:
            anonymous.close()
        token = made["token"]
    api = Api(url, token, say.lang)
    try:
        me = api.me()
    except ApiError as exc:
        raise _explain(say, exc, url) from exc
    finally:
        api.close()
    where = config.save(config.Config(url=url, token=token, username=me["username"]))
    print(say("logged_in", url=url, user=me["username"], path=where))
    return EXIT_PASSED


def cmd_logout(args: argparse.Namespace, say: Say) -> int:
    found = config.load()
    if found is None:
        raise Stop(say("not_logged_in"), EXIT_AUTH)
    api = Api(found.url, found.token, say.lang)
    try:
        api.token_revoke()
        print(say("logged_out"))
    except ApiError as exc:
        print(say("logged_out_local", why=clean(exc.message)))
    finally:
        api.close()
        config.forget()
    return EXIT_PASSED


def cmd_whoami(args: argparse.Namespace, say: Say) -> int:
    api = _session(args, say)
    try:
        me = api.me()
    except ApiError as exc:
        raise _explain(say, exc, api.url) from exc
    print(f"{me['username']} @ {api.url} ({me['token']}, {me['scope']})")
    return EXIT_PASSED


def cmd_exercises(args: argparse.Namespace, say: Say) -> int:
    """Every exercise, and under each the assignments it counts for: due time, attempts left,
    whether a submission would be taken now."""
    api = _session(args, say)
    try:
        found, runs = api.exercises(), api.runs()
    except ApiError as exc:
        raise _explain(say, exc, api.url) from exc
    if args.json:
        print(json.dumps({"exercises": found, "runs": runs}, ensure_ascii=False, indent=2))
        return EXIT_PASSED
    if not found:
        print(say("no_exercises"))
        return EXIT_PASSED
    counted: dict[tuple[str, str], list[str]] = {}
    for run in runs:
        for a in run["assignments"]:
            for e in a["exercises"]:
                left = say("unlimited") if e["attempts_left"] is None else e["attempts_left"]
                now = say("accepted") if e["refusal"] is None else clean(e["refusal"], 200)
                counted.setdefault((e["course"], e["slug"]), []).append(
                    say(
                        "counts_for",
                        id=a["id"],
                        title=clean(a["title"], 80),
                        due=_local(a["due_at"], a["time_zone"]),
                        used=e["attempts_used"],
                        left=left,
                        now=now,
                    )
                )
    width = max(len(f"{e['course']}/{e['slug']}") for e in found)
    print(f"{say('col_exercise'):<{width}}  {say('col_passing'):>7}  {say('col_title')}")
    for e in found:
        print(f"{e['course'] + '/' + e['slug']:<{width}}  {e['passing_score']:>7g}  {clean(e['title'], 100)}")
        for line in counted.get((e["course"], e["slug"]), []):
            print(f"  {line}")
    return EXIT_PASSED


def _local(iso: str, zone: str) -> str:
    """A time in the run's zone, as the pages show it: `2026-12-17 15:08 KST`."""
    try:
        return datetime.fromisoformat(iso).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")
    except (ValueError, KeyError, ZoneInfoNotFoundError):
        return f"{iso} ({zone})"


def _resolve(api: Api, say: Say, name: str) -> dict[str, Any]:
    course, _, slug = name.rpartition("/")
    found = [e for e in api.exercises() if e["slug"] == slug and (not course or e["course"] == course)]
    if not found:
        raise Stop(say("unknown_exercise", name=name), EXIT_REFUSED)
    if len(found) > 1:
        choices = ", ".join(f"{e['course']}/{e['slug']}" for e in found)
        raise Stop(say("ambiguous_exercise", name=name, choices=choices), EXIT_REFUSED)
    return found[0]


def _read(path: Path, say: Say) -> str:
    try:
        if path.stat().st_size > MAX_FILE:
            raise Stop(say("too_big", path=path, limit=MAX_FILE // 1024), EXIT_REFUSED)
        data = path.read_bytes()
    except OSError as exc:
        raise Stop(say("no_file", path=path, why=exc.strerror or exc), EXIT_REFUSED) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise Stop(say("not_utf8", path=path, line=line), EXIT_REFUSED) from exc


def _practice_note(api: Api, say: Say, exercise: dict[str, Any]) -> str | None:
    for run in api.runs():
        for a in run["assignments"]:
            for e in a["exercises"]:
                if (e["course"], e["slug"]) == (exercise["course"], exercise["slug"]) and e[
                    "refusal"
                ] is None:
                    return say("practice_note", title=clean(a["title"]), id=a["id"])
    return None


def cmd_submit(args: argparse.Namespace, say: Say) -> int:
    api = _session(args, say)
    try:
        dockerfile = _read(Path(args.dockerfile), say)
        ignore_path = (
            Path(args.dockerignore) if args.dockerignore else Path(args.dockerfile).parent / ".dockerignore"
        )
        dockerignore = ""
        if not args.no_dockerignore and (args.dockerignore or ignore_path.is_file()):
            dockerignore = _read(ignore_path, say)
        try:
            exercise = _resolve(api, say, args.exercise)
            note = None if args.assignment is not None or args.json else _practice_note(api, say, exercise)
            made = api.submit(exercise["course"], exercise["slug"], dockerfile, dockerignore, args.assignment)
        except ApiError as exc:
            if args.json:
                print(json.dumps({"code": exc.code, "message": exc.message}, ensure_ascii=False))
            raise _explain(say, exc, api.url) from exc
        out = _renderer(args, say)
        if out:
            if dockerignore and not args.dockerignore:
                out.notice(say("using_dockerignore", path=ignore_path))
            if note:
                out.notice(note)
            out.line(
                say(
                    "submitted",
                    id=made["id"],
                    exercise=f"{exercise['course']}/{exercise['slug']}",
                    url=made["url"],
                ),
                "bold",
            )
        if args.detach:
            return EXIT_PASSED
        return _follow(api, say, args, made["id"], out)
    finally:
        api.close()


def cmd_show(args: argparse.Namespace, say: Say) -> int:
    api = _session(args, say)
    try:
        if args.follow:
            return _follow(api, say, args, args.id, _renderer(args, say))
        try:
            submission = api.submission(args.id)
        except ApiError as exc:
            raise _explain(say, exc, api.url) from exc
        return _summary(say, args, submission, _renderer(args, say), show_results=True)
    finally:
        api.close()


# Following and the summary ---------------------------------------------------------------


def _renderer(args: argparse.Namespace, say: Say) -> Plain | None:
    if args.json:
        return None
    live = sys.stdout.isatty() and not args.plain
    return (Live if live else Plain)(say, sys.stdout, verbose=args.verbose)


def _follow(api: Api, say: Say, args: argparse.Namespace, submission_id: int, out: Plain | None) -> int:
    def notice(what: str, seq: int) -> None:
        if out:
            out.notice(say(what, seq=seq))

    follower = Follower(api, submission_id, 0, notice=notice)
    try:
        for event in follower.events():
            if out:
                out.event(event)
        submission = api.submission(submission_id)
    except KeyboardInterrupt:
        if out:
            out.close()
        print(say("detached", id=submission_id), file=sys.stderr)
        return EXIT_DETACHED
    except ApiError as exc:
        if out:
            out.close()
        raise _explain(say, exc, api.url) from exc
    if out:
        out.close()
    return _summary(say, args, submission, out, show_results=False)


def _summary(
    say: Say, args: argparse.Namespace, s: dict[str, Any], out: Plain | None, *, show_results: bool
) -> int:
    wanted = args.min_score if getattr(args, "min_score", None) is not None else s["passing_score"]
    status = s["status"]
    if status == "done" and s["score"] is not None:
        code = EXIT_PASSED if s["score"] >= wanted else EXIT_BELOW
    elif status == "failed":
        code = EXIT_REFUSED
    else:  # ours (error), the exercise's (held), or not finished yet
        code = EXIT_NOT_GRADED
    if args.json:
        print(json.dumps(s, ensure_ascii=False, indent=2))
        return code
    assert out is not None
    if show_results:
        for r in s["results"]:
            out.check(r)
    if status == "done" and s["results"]:
        out.table(s["results"])
    failure = s.get("failure") or {}
    message = clean(failure.get("message", ""))
    if status == "done" and s["score"] is not None:
        if s.get("image_size") is not None:
            out.line(
                say(
                    "image",
                    size=size_text(s["image_size"]),
                    layers=s.get("layer_count") or "?",
                    seconds=f"{s['build_seconds']:.1f}" if s.get("build_seconds") is not None else "?",
                )
            )
        out.line(say("score", score=f"{s['score']:g}", passing=f"{s['passing_score']:g}"), "bold")
        out.line(
            say("passed") if code == EXIT_PASSED else say("below", wanted=f"{wanted:g}"),
            "green" if code == EXIT_PASSED else "red",
        )
    elif status == "failed":
        out.line(say("build_failed", message=message), "red")
    elif status == "error":
        out.line(say("our_fault", message=message), "yellow")
    elif status == "held":
        out.line(say("held", message=message, id=s["id"]), "yellow")
    else:
        out.line(say("in_progress", status=status, id=s["id"]))
    return code


# Arguments ----------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="layerlab",
        description="Submit Dockerfiles to a Layerlab server and watch them graded.",
        epilog=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"layerlab {__version__}")
    p.add_argument("--lang", choices=["en", "ko"], help="language of messages (default: from LANG)")
    sub = p.add_subparsers(dest="command", required=True, metavar="command")

    login = sub.add_parser("login", help="log in to a server and keep a token")
    login.add_argument("url", help="the server's address, e.g. http://localhost:8000")
    login.add_argument("--username", help="(asked for when left out)")
    login.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    login.add_argument(
        "--token-stdin",
        action="store_true",
        help="read a token made on the account page from standard input, instead of a password",
    )
    login.add_argument("--name", help="the token's name on the account page")
    login.add_argument("--scope", choices=["submit", "read"], default="submit")
    login.set_defaults(run=cmd_login)

    logout = sub.add_parser("logout", help="revoke the kept token and forget it")
    logout.set_defaults(run=cmd_logout)
    whoami = sub.add_parser("whoami", help="who the kept token belongs to")
    whoami.set_defaults(run=cmd_whoami)

    listing = sub.add_parser("exercises", help="what you can submit to: attempts left, due times")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=cmd_exercises)

    def watching(q: argparse.ArgumentParser) -> None:
        q.add_argument("--json", action="store_true", help="print only the final result, as JSON")
        q.add_argument("-v", "--verbose", action="store_true", help="print the build log too")
        q.add_argument("--plain", action="store_true", help="plain lines even on a terminal")
        q.add_argument(
            "--min-score", type=float, help="exit 1 below this score (default: the exercise's passing score)"
        )

    submit = sub.add_parser("submit", help="submit a Dockerfile and watch it graded")
    submit.add_argument("dockerfile", help="the Dockerfile to send")
    submit.add_argument("--exercise", "-e", required=True, help="the exercise: slug, or course/slug")
    submit.add_argument(
        "--assignment", "-a", type=int, help="the assignment it counts for (default: practice)"
    )
    submit.add_argument(
        "--dockerignore", help="a .dockerignore to send (default: the one beside the Dockerfile)"
    )
    submit.add_argument("--no-dockerignore", action="store_true", help="send no .dockerignore")
    submit.add_argument("--detach", action="store_true", help="submit and exit without watching")
    watching(submit)
    submit.set_defaults(run=cmd_submit)

    show = sub.add_parser("show", help="a submission's result")
    show.add_argument("id", type=int)
    show.add_argument("--follow", "-f", action="store_true", help="watch it until it ends")
    watching(show)
    show.set_defaults(run=cmd_show)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    say = Say(language(args.lang))
    try:
        return int(args.run(args, say))
    except Stop as stop:
        print(str(stop), file=sys.stderr)
        return stop.code
    except KeyboardInterrupt:
        return EXIT_DETACHED
    except BrokenPipeError:
        # The reader went away (`| head`): say nothing more, as other tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_PASSED


if __name__ == "__main__":
    sys.exit(main())
