"""Large files an exercise's context needs (the CPython source tarball) but that do not belong in
the database or in git: fetched once by `manage.py fetch_assets`, checked against their sha256,
kept by hash under LAYERLAB_ASSET_DIR, and added to the build context at grading time. The only
place that downloads anything."""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from django.conf import settings

CHUNK = 1 << 20


class AssetError(RuntimeError):
    pass


def asset_path(sha256: str) -> Path:
    return Path(settings.LAYERLAB_ASSET_DIR) / sha256


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def asset_present(asset: Mapping[str, Any]) -> bool:
    path = asset_path(asset["sha256"])
    return path.is_file() and path.stat().st_size == asset["size"]


def asset_fetch(asset: Mapping[str, Any], progress: Callable[[str], None] = lambda _m: None) -> bool:
    """Downloads one asset unless it is already here; returns True when it downloaded. The file
    appears under its hash only once its size and sha256 match, so a failed or tampered download
    leaves nothing behind."""
    if asset_present(asset):
        return False
    target = asset_path(asset["sha256"])
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".fetch-", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        got = 0
        next_report = 0
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(asset["url"], timeout=60) as response:  # noqa: S310 (http(s) checked at import)
            while chunk := response.read(CHUNK):
                got += len(chunk)
                if got > asset["size"]:
                    raise AssetError(f"{asset['url']}: larger than the {asset['size']} bytes expected")
                h.update(chunk)
                out.write(chunk)
                if got >= next_report:
                    share = got * 100 // asset["size"]
                    progress(f"{asset['path']}: {share} % of {asset['size'] / 1e6:.1f} MB")
                    next_report += asset["size"] // 10 or 1
        if got != asset["size"]:
            raise AssetError(f"{asset['url']}: got {got} bytes, expected {asset['size']}")
        if h.hexdigest() != asset["sha256"]:
            raise AssetError(f"{asset['url']}: sha256 is {h.hexdigest()}, expected {asset['sha256']}")
        tmp.chmod(0o644)
        tmp.replace(target)
        return True
    except OSError as exc:
        raise AssetError(f"{asset['url']}: download failed: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def asset_read(asset: Mapping[str, Any]) -> bytes:
    """The asset's bytes, checked again: a file changed on disk after fetching is not used."""
    path = asset_path(asset["sha256"])
    if not path.is_file():
        raise AssetError(
            f"the exercise file {asset['path']} has not been fetched on this host; "
            "run `python manage.py fetch_assets`"
        )
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != asset["sha256"]:
        raise AssetError(f"{path} does not match its sha256; delete it and run `manage.py fetch_assets`")
    return data
