"""Where the client keeps the server address and token: `$LAYERLAB_CONFIG`, else
`$XDG_CONFIG_HOME/layerlab/config.json` (`~/.config/…`), readable by its owner only.
`LAYERLAB_URL` and `LAYERLAB_TOKEN` override the file (for CI jobs and scripts)."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Config:
    url: str
    token: str
    username: str = ""


def path() -> Path:
    if explicit := os.environ.get("LAYERLAB_CONFIG"):
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "layerlab" / "config.json"


def normalise_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    return url


def load() -> Config | None:
    stored: dict[str, str] = {}
    try:
        raw = json.loads(path().read_text(encoding="utf-8"))
        if isinstance(raw, dict):
            stored = {k: str(v) for k, v in raw.items() if isinstance(v, str)}
    except (OSError, ValueError):
        pass
    url = os.environ.get("LAYERLAB_URL") or stored.get("url", "")
    token = os.environ.get("LAYERLAB_TOKEN") or stored.get("token", "")
    if not url or not token:
        return None
    return Config(url=normalise_url(url), token=token, username=stored.get("username", ""))


def save(config: Config) -> Path:
    """Written whole, then renamed over the old file: a crash leaves one or the other."""
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    body = json.dumps({"url": config.url, "token": config.token, "username": config.username}, indent=2)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".config-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(body + "\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def forget() -> None:
    path().unlink(missing_ok=True)
