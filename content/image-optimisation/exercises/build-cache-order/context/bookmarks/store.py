"""An in-memory store: enough for a demo, gone when the container stops."""

from __future__ import annotations

from itertools import count
from threading import Lock

from bookmarks.models import Bookmark, BookmarkIn


class Store:
    def __init__(self) -> None:
        self._items: dict[int, Bookmark] = {}
        self._ids = count(1)
        self._lock = Lock()

    def add(self, data: BookmarkIn) -> Bookmark:
        with self._lock:
            bookmark = Bookmark(id=next(self._ids), **data.model_dump())
            self._items[bookmark.id] = bookmark
            return bookmark

    def get(self, bookmark_id: int) -> Bookmark | None:
        return self._items.get(bookmark_id)

    def list(self, tag: str | None = None) -> list[Bookmark]:
        items = sorted(self._items.values(), key=lambda b: b.id)
        return [b for b in items if tag is None or tag in b.tags]

    def delete(self, bookmark_id: int) -> bool:
        with self._lock:
            return self._items.pop(bookmark_id, None) is not None
