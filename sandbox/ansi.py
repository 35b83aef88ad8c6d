"""Terminal escape codes in build output: the colours are kept, everything else goes.

A build log is the student's program talking, so it is hostile: an escape sequence can set a
window title, move the cursor, rewrite a line already shown, or carry a hyperlink. The page
renders only a fixed small set of SGR attributes (bold and the sixteen foreground colours) as
CSS classes; this keeps exactly those, in a canonical form (`ESC [ 1;31 m`), and strips every
other sequence, so what is stored and sent is bounded by the line caps the text already has."""

from __future__ import annotations

import re

ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor movement
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: titles, hyperlinks
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC strings
    r"|\x1b[ -/]+[0-~]"  # nF: character set designations such as ESC ( B
    r"|\x1b[0-~]"  # other two-character escapes (ESC 7, ESC c, ...)
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
    r"|[\x1b\x9b]"
)
"""Every terminal escape sequence, and a stray ESC or CSI byte on its own."""

RESET = 0
BOLD = 1
NORMAL_INTENSITY = 22
DEFAULT_FOREGROUND = 39
FOREGROUNDS = frozenset(range(30, 38)) | frozenset(range(90, 98))
KEPT = frozenset({RESET, BOLD, NORMAL_INTENSITY, DEFAULT_FOREGROUND}) | FOREGROUNDS
"""The SGR parameters the page draws; live.js knows the same set."""

EXTENDED = frozenset({38, 48, 58})
"""Extended colour introducers (`38;5;n`, `38;2;r;g;b`): what follows them is not an SGR code
of its own and must not be read as one (`38;5;31` is not red)."""

MAX_PARAMS = 16
_SGR = re.compile(r"\x1b\[([0-9;]{0,64})m")


def sgr_params(body: str) -> list[int]:
    """The kept parameters of one SGR sequence's body (`"1;31"`), in order; [] when nothing in
    it is kept. An empty body means reset, as terminals read it."""
    if body == "":
        return [RESET]
    parts = body.split(";")
    if len(parts) > MAX_PARAMS:
        return []
    kept: list[int] = []
    skip = 0
    for i, part in enumerate(parts):
        if skip:
            skip -= 1
            continue
        if len(part) > 3:
            return []
        value = int(part) if part else RESET
        if value in EXTENDED:
            mode = parts[i + 1] if i + 1 < len(parts) else ""
            # 5;n is one index, 2;r;g;b three values; anything else leaves the rest unreadable.
            if mode == "5":
                skip = 2
            elif mode == "2":
                skip = 4
            else:
                break
            continue
        if value in KEPT:
            kept.append(value)
    return kept


def colours_only(text: str) -> str:
    """`text` with its SGR colour and bold codes kept (canonical form) and every other escape
    sequence, or stray ESC and CSI byte, removed."""

    def keep(match: re.Match[str]) -> str:
        sgr = _SGR.fullmatch(match.group(0))
        if sgr is None:
            return ""
        kept = sgr_params(sgr.group(1))
        return f"\x1b[{';'.join(str(p) for p in kept)}m" if kept else ""

    return ESCAPES.sub(keep, text)


def strip(text: str) -> str:
    """`text` without any terminal escape sequence (colours, titles, cursor movement)."""
    return ESCAPES.sub("", text)
