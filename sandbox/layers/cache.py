"""Layer summaries by diff id, in process and on disk. Base layers are shared by every submission
of an exercise: once summarised, an image whose layers are all known is analysed without
exporting it at all.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

from sandbox.layers.summary import _DIGEST, CACHE_FORMAT, LayerError, LayerSummary

ENV_CACHE_DIR = "LAYERLAB_LAYER_CACHE"
DEFAULT_CACHE_DIR = Path("~/.cache/layerlab/layers")
MEMORY_LAYERS = 64
"""Layer summaries kept in process per cache directory; a base layer is a few MB of entries."""

_MEMORY: dict[str, OrderedDict[str, LayerSummary]] = {}
_MEMORY_LOCK = threading.Lock()


class LayerCache:
    """Layer summaries by diff id: in process first, then one gzip'd JSON file per diff id.
    Files are written to a temporary name and renamed, so a reader never sees half a file and
    two workers writing the same layer both leave a whole one."""

    def __init__(self, directory: Path | None = None) -> None:
        chosen = directory or Path(os.environ.get(ENV_CACHE_DIR) or DEFAULT_CACHE_DIR)
        self.directory = chosen.expanduser()
        with _MEMORY_LOCK:
            self._memory = _MEMORY.setdefault(str(self.directory.resolve()), OrderedDict())

    def _file(self, diff_id: str) -> Path:
        if not _DIGEST.match(diff_id):
            raise LayerError(f"not a sha256 diff id: {diff_id!r}")
        return self.directory / (diff_id.replace(":", "-") + ".json.gz")

    def get(self, diff_id: str) -> LayerSummary | None:
        with _MEMORY_LOCK:
            summary = self._memory.get(diff_id)
            if summary is not None:
                self._memory.move_to_end(diff_id)
                return summary
        try:
            data = json.loads(gzip.decompress(self._file(diff_id).read_bytes()))
            if data.get("format") != CACHE_FORMAT or data.get("diff_id") != diff_id:
                return None
            summary = LayerSummary.from_json(data)
        except (OSError, ValueError, KeyError, TypeError, EOFError):
            return None
        self._remember(summary)
        return summary

    def put(self, summary: LayerSummary) -> None:
        self._remember(summary)
        path = self._file(summary.diff_id)
        payload = gzip.compress(json.dumps(summary.to_json(), separators=(",", ":")).encode(), 3, mtime=0)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json.gz", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(payload)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _remember(self, summary: LayerSummary) -> None:
        with _MEMORY_LOCK:
            self._memory[summary.diff_id] = summary
            self._memory.move_to_end(summary.diff_id)
            while len(self._memory) > MEMORY_LAYERS:
                self._memory.popitem(last=False)
