"""What every browser test shares: Debian's chromium launched by Playwright, and a login."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

AXE = Path(__file__).resolve().parent.parent / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
"""axe-core from the locked npm build (`cd frontend && npm ci`), injected into the page under test."""

SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
"""Where browser tests save the pages they show (looked at by people, kept as CI artefacts)."""
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop on this thread; the test's own ORM calls are
    # still plain synchronous code, so Django's async guard is lifted for these tests only.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def login(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-for-tests")
    page.click("button[type=submit]")
    expect(page).not_to_have_url(re.compile(r"/login/"))


_AXE_RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => ({
      target: n.target.map(String).join(" "),
      summary: (n.failureSummary || "").replace(/\\s+/g, " ").slice(0, 300),
      html: n.html.slice(0, 160),
    })),
  }));
}"""


def axe_violations(page: Page, impact: tuple[str, ...] = ("critical", "serious")) -> list[dict[str, Any]]:
    """What axe-core finds wrong on the page as it is now, limited to the given impacts: each
    violation's rule id, impact, help text and the offending nodes (selector, why, markup)."""
    if not AXE.exists():
        raise RuntimeError(f"{AXE} is missing: run `cd frontend && npm ci` first")
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    return [v for v in page.evaluate(_AXE_RUN) if v["impact"] in impact]


def axe_report(violations: list[dict[str, Any]], where: str = "") -> str:
    """The violations as lines a failing assertion prints: what to fix, and where."""
    lines = []
    for v in violations:
        for node in v["nodes"]:
            head = f"{where}[{v['impact']}] {v['id']} ({v['help']}): {node['target']}"
            lines.append(f"{head}\n    {node['summary']}\n    {node['html']}")
    return "\n".join(lines)


def fill_dockerfile(page: Page, text: str) -> None:
    """Replaces the Dockerfile on the exercise page: in the code editor when the bundle is there
    (it hides the textarea it keeps in sync), else in the textarea. A page reached by a click may
    still be loading: the editor exists once the page's deferred scripts have run."""
    page.wait_for_selector("#dockerfile", state="attached")
    page.wait_for_load_state("load")
    if page.evaluate("typeof window.layerlabEditor === 'object'"):
        page.evaluate("(text) => window.layerlabEditor.setText(text)", text)
    else:
        page.fill("#dockerfile", text)


EDITOR_SELECTION = """(() => {
  const view = window.layerlabEditor.view;
  const sel = view.state.selection.main;
  return [view.contentDOM.contains(document.activeElement) || document.activeElement === view.contentDOM,
          view.state.sliceDoc(sel.from, sel.to), sel.head === sel.from];
})()"""
"""Whether the code editor has the focus, the text it has selected, and whether the cursor is at its start."""
