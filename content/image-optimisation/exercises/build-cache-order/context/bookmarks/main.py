"""The HTTP layer. Run with: uvicorn bookmarks.main:app --host 0.0.0.0 --port 8000"""

from __future__ import annotations

import os

from fastapi import FastAPI, HTTPException, Response

from bookmarks import __version__
from bookmarks.models import Bookmark, BookmarkIn
from bookmarks.store import Store

app = FastAPI(title="bookmarks", version=__version__)
store = Store()


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok", "version": __version__, "env": os.environ.get("APP_ENV", "production")}


@app.get("/bookmarks", response_model=list[Bookmark])
def list_bookmarks(tag: str | None = None) -> list[Bookmark]:
    return store.list(tag)


@app.post("/bookmarks", response_model=Bookmark, status_code=201)
def add_bookmark(data: BookmarkIn) -> Bookmark:
    return store.add(data)


@app.get("/bookmarks/{bookmark_id}", response_model=Bookmark)
def get_bookmark(bookmark_id: int) -> Bookmark:
    bookmark = store.get(bookmark_id)
    if bookmark is None:
        raise HTTPException(status_code=404, detail=f"no bookmark {bookmark_id}")
    return bookmark


@app.delete("/bookmarks/{bookmark_id}", status_code=204)
def delete_bookmark(bookmark_id: int) -> Response:
    if not store.delete(bookmark_id):
        raise HTTPException(status_code=404, detail=f"no bookmark {bookmark_id}")
    return Response(status_code=204)
