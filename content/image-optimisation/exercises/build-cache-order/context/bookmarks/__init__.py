"""bookmarks: a small API to save and tag links."""

__version__ = "0.9.1"
