from __future__ import annotations

from datetime import datetime, timezone

from pydantic import BaseModel, Field, HttpUrl


class BookmarkIn(BaseModel):
    url: HttpUrl
    title: str = Field(min_length=1, max_length=200)
    tags: list[str] = Field(default_factory=list, max_length=10)


class Bookmark(BookmarkIn):
    id: int
    created_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
