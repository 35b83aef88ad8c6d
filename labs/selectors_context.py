"""The exercise page's build context as a person browses it: a directory tree of the files the
author put in the context (each highlighted for the viewer) and the large files the platform
provides (named, never shown)."""

from __future__ import annotations

from dataclasses import dataclass, field

from courses.markdown import HIGHLIGHT_MAX_BYTES, highlight_file
from labs.models import Exercise


@dataclass
class ContextFile:
    path: str
    name: str
    size: int
    number: int
    """Its place in the listing, for the viewer's element ids (paths may hold any character)."""
    html: str = ""
    """The highlighted (or plain, escaped) text; empty for a provided asset."""
    language: str = ""
    provided: bool = False
    too_large_to_highlight: bool = False
    is_dir: bool = False


@dataclass
class ContextDir:
    name: str
    path: str
    dirs: list[ContextDir] = field(default_factory=list)
    files: list[ContextFile] = field(default_factory=list)
    is_dir: bool = True

    @property
    def children(self) -> list[ContextDir | ContextFile]:
        return [*self.dirs, *self.files]


@dataclass
class ContextTree:
    root: ContextDir
    files: list[ContextFile]
    """Every file, in the tree's order (directories first, then names)."""


def context_tree(exercise: Exercise) -> ContextTree:
    entries: list[tuple[str, int, str | None]] = [
        (path, len(text.encode("utf-8")), text) for path, text in exercise.context_files.items()
    ]
    entries += [(str(a["path"]), int(a["size"]), None) for a in exercise.assets or []]
    root = ContextDir(name="", path="")
    for path, size, text in entries:
        *parents, name = path.strip("/").split("/")
        here = root
        for part in parents:
            found = next((d for d in here.dirs if d.name == part), None)
            if found is None:
                found = ContextDir(name=part, path=f"{here.path}{part}/")
                here.dirs.append(found)
            here = found
        entry = ContextFile(path=path, name=name, size=size, number=0, provided=text is None)
        if text is not None:
            shown = highlight_file(path, text)
            entry.html, entry.language = shown.html, shown.language
            entry.too_large_to_highlight = size > HIGHLIGHT_MAX_BYTES
        here.files.append(entry)
    files: list[ContextFile] = []

    def order(directory: ContextDir) -> None:
        directory.dirs.sort(key=lambda d: d.name)
        directory.files.sort(key=lambda f: f.name)
        for sub in directory.dirs:
            order(sub)
        for entry in directory.files:
            entry.number = len(files) + 1
            files.append(entry)

    order(root)
    return ContextTree(root=root, files=files)
