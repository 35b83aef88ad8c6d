"""Exercise assets (the CPython tarball): fetched over HTTP once, checked against their sha256,
kept by hash; a wrong or short download leaves nothing behind, and a file changed on disk after
fetching is refused at grading time with the command that fixes it."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from labs.assets import AssetError, asset_fetch, asset_path, asset_read
from tests.factories import ExerciseFactory

BODY = b"pretend this is Python-3.11.2.tar.gz\n" * 1000


@pytest.fixture
def server() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/Python.tgz"
    httpd.shutdown()


@pytest.fixture(autouse=True)
def asset_dir(tmp_path: Path, settings: object) -> Path:
    settings.LAYERLAB_ASSET_DIR = tmp_path / "assets"  # type: ignore[attr-defined]
    return tmp_path / "assets"


def asset(url: str, **over: object) -> dict[str, object]:
    return {
        "path": "Python.tgz",
        "url": url,
        "sha256": hashlib.sha256(BODY).hexdigest(),
        "size": len(BODY),
    } | over


def test_an_asset_is_fetched_once_verified_and_read_back(server: str) -> None:
    spec = asset(server)
    messages: list[str] = []
    assert asset_fetch(spec, progress=messages.append) is True
    assert messages and messages[-1].endswith("% of 0.0 MB")
    assert asset_read(spec) == BODY
    assert asset_fetch(spec) is False  # already here: no download


def test_a_download_with_the_wrong_checksum_leaves_nothing_behind(server: str, asset_dir: Path) -> None:
    spec = asset(server, sha256="0" * 64)
    with pytest.raises(AssetError, match="sha256 is"):
        asset_fetch(spec)
    assert list(asset_dir.iterdir()) == []


def test_a_download_of_the_wrong_size_is_refused(server: str, asset_dir: Path) -> None:
    with pytest.raises(AssetError, match="expected"):
        asset_fetch(asset(server, size=len(BODY) + 1))
    with pytest.raises(AssetError, match="larger than"):
        asset_fetch(asset(server, size=10))
    assert list(asset_dir.iterdir()) == []


def test_a_missing_or_tampered_asset_names_the_fix(server: str) -> None:
    spec = asset(server)
    with pytest.raises(AssetError, match=r"manage\.py fetch_assets"):
        asset_read(spec)
    asset_fetch(spec)
    asset_path(str(spec["sha256"])).write_bytes(BODY + b"x")
    with pytest.raises(AssetError, match="does not match its sha256"):
        asset_read(spec)


@pytest.mark.django_db
def test_fetch_assets_fetches_what_imported_exercises_need(server: str) -> None:
    ExerciseFactory(slug="needs-a-tarball", assets=[asset(server)])
    out = StringIO()
    call_command("fetch_assets", stdout=out)
    assert "needs-a-tarball: Python.tgz: fetched, sha256 verified" in out.getvalue()
    out = StringIO()
    call_command("fetch_assets", stdout=out)
    assert "needs-a-tarball: Python.tgz: present" in out.getvalue()
