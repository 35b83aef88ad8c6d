"""How a submission's events look in a terminal: on a terminal, a progress bar over the build
steps with each check printed above it (Rich); elsewhere (a pipe, a CI log), one plain line
per finished step, check and status. Every text from the server is cleaned of control
characters first: a build log is the student's program's output, and a terminal obeys escapes."""

from __future__ import annotations

import re
from typing import Any, TextIO

from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from layerlab_client.messages import Say

_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)
MAX_TEXT = 2000

VERDICT_STYLE = {"pass": "green", "partial": "yellow", "fail": "red", "skip": "dim"}
VERDICT_MARK = {"pass": "✓", "partial": "~", "fail": "✗", "skip": "-"}
FINISHED_STATES = {"cached", "done", "error", "canceled"}


def clean(value: object, limit: int = MAX_TEXT) -> str:
    text = _ESCAPES.sub("", str(value)).replace("\t", "    ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def size_text(n: int | None) -> str:
    if n is None:
        return "?"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


class Plain:
    """One line per thing that happened; nothing redrawn."""

    def __init__(self, say: Say, out: TextIO, *, verbose: bool = False) -> None:
        self.say = say
        self.console = Console(file=out, highlight=False, soft_wrap=True, emoji=False, markup=False)
        self.verbose = verbose
        self.steps: dict[str, dict[str, Any]] = {}
        self.shown: set[str] = set()
        self.final: dict[str, Any] = {}

    # Lines -----------------------------------------------------------------
    def line(self, text: str, style: str = "") -> None:
        self.console.print(Text(text, style=style))

    def notice(self, text: str) -> None:
        self.line(text, "dim")

    # Events ----------------------------------------------------------------
    def event(self, event: dict[str, Any]) -> None:
        payload = event.get("payload") or {}
        kind = event.get("kind")
        if kind == "status":
            self.status(payload)
        elif kind == "step":
            self.step(payload)
        elif kind == "log" and self.verbose:
            for entry in payload.get("lines", []):
                self.line(f"  │ {clean(entry.get('line', ''))}", "dim")
        elif kind == "check":
            self.check(payload)

    def status(self, payload: dict[str, Any]) -> None:
        text = clean(self.say.status(payload))
        if payload.get("status") in ("done", "failed", "error", "held"):
            self.final = payload
            return  # the summary says it, with the line and what to do
        self.line(f"· {text}", "bold")
        for note in payload.get("notices") or []:
            if isinstance(note, dict):
                said = note.get("message_ko") if self.say.lang == "ko" else None
                self.notice(f"  ! {clean(said or note.get('message', ''))}")

    def step(self, payload: dict[str, Any]) -> None:
        if payload.get("internal"):
            return
        key = str(payload.get("id"))
        self.steps[key] = payload
        if payload.get("state") in FINISHED_STATES and key not in self.shown:
            self.shown.add(key)  # once: BuildKit may report a cached step again
            self.step_finished(payload)

    def step_finished(self, payload: dict[str, Any]) -> None:
        seconds = payload.get("seconds")
        took = (
            f" {seconds:.1f}s" if isinstance(seconds, (int, float)) and payload.get("state") == "done" else ""
        )
        state = self.say.state(str(payload.get("state")))
        text = self.say(
            "step_line",
            n=payload.get("order") or payload.get("index") or "?",
            m=payload.get("steps") or payload.get("total") or "?",
            state=state + took,
            name=clean(payload.get("name", ""), 160),
        )
        self.line(text, "red" if payload.get("state") == "error" else "")

    def check(self, payload: dict[str, Any]) -> None:
        verdict = str(payload.get("verdict", ""))
        title = clean(self.say.pick(payload.get("title")) or payload.get("criterion", ""), 200)
        lines = payload.get("lines") or []
        where = f" ({self.say('at_line', line=', '.join(str(n) for n in lines[:6]))})" if lines else ""
        head = Text(
            f"{VERDICT_MARK.get(verdict, '?')} {self.say.verdict(verdict):<7} ",
            style=VERDICT_STYLE.get(verdict, ""),
        )
        head.append(f"{title}{where}")
        self.console.print(head)
        if verdict in ("fail", "partial"):
            for line in self.say.pick(payload.get("detail")).strip().splitlines()[:20]:
                self.line(f"    {clean(line, 500)}", "dim")
            fix = self.say.pick(payload.get("fix")).splitlines()
            fix = [line for line in fix if not line.startswith("```")]
            for n, line in enumerate(fix[:12]):
                self.line(f"    {'→' if n == 0 else ' '} {clean(line, 300)}", "dim")

    def table(self, results: list[dict[str, Any]]) -> None:
        """The score table: each criterion's verdict and points, then the total."""
        table = Table(box=box.SIMPLE, show_edge=False, pad_edge=False)
        table.add_column(self.say("col_criterion"))
        table.add_column(self.say("col_verdict"))
        table.add_column(self.say("col_points"), justify="right")
        for r in results:
            verdict = str(r.get("verdict", ""))
            table.add_row(
                Text(clean(self.say.pick(r.get("title")), 80)),
                Text(self.say.verdict(verdict), style=VERDICT_STYLE.get(verdict, "")),
                f"{r.get('points', 0):g} / {r.get('max_points', 0):g}",
            )
        self.console.print(table)

    def close(self) -> None:
        pass


class Live(Plain):
    """On a terminal: the steps as a bar that moves, the checks printed above it."""

    def __init__(self, say: Say, out: TextIO, *, verbose: bool = False) -> None:
        super().__init__(say, out, verbose=verbose)
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self.task: Any = None

    def line(self, text: str, style: str = "") -> None:
        self.progress.console.print(Text(text, style=style))

    def step(self, payload: dict[str, Any]) -> None:
        super().step(payload)
        total = payload.get("steps")
        if not isinstance(total, int) or total <= 0:
            return
        if self.task is None:
            self.progress.start()
            self.task = self.progress.add_task(self.say("steps"), total=total)
        planned = [s for s in self.steps.values() if s.get("order")]
        finished = sum(1 for s in planned if s.get("state") in FINISHED_STATES)
        running = [s for s in planned if s.get("state") == "running"]
        description = clean(running[-1].get("name", ""), 40) if running else self.say("steps")
        self.progress.update(self.task, completed=finished, total=total, description=description)

    def status(self, payload: dict[str, Any]) -> None:
        if payload.get("status") == "analysing" and self.task is not None:
            self.progress.stop()
            self.task = None
        super().status(payload)

    def close(self) -> None:
        self.progress.stop()
