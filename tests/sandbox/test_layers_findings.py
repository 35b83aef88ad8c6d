"""sandbox.layers.findings: what should not be in an image, found in every layer (a secret
deleted later still counts), on hand-made layers and on images in the engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sandbox.layers.analyse import analyse_export, analyse_image
from tests.sandbox.layer_images import (
    BASE,
    F,
    assert_matches_dive,
    chunks,
    image_archive,
    run_dive,
)

STANDINS = ("debian:bookworm-slim", "python:3.11-slim", "node:18-bookworm-slim", "golang:1.19-bookworm")


# --- findings on hand-made layers ------------------------------------------------------------


def test_secret_deleted_in_a_later_layer_is_still_found() -> None:
    data, diff_ids = image_archive(
        [
            [F("etc/ssl/certs/ca.pem", 900), F("usr/lib/go/src/crypto/testdata/key.pem", 5)],
            [
                F("root/.ssh/id_rsa", 1700),
                F("app/.env", 30),
                F("app/.env.example", 30),
                F("app/server.key", 9),
            ],
            [F("root/.ssh/.wh.id_rsa"), F("app/.wh..wh..opq")],
        ]
    )
    secrets = {(s.path, s.layer): s for s in analyse_export(chunks(data), diff_ids).secret_files}
    assert set(secrets) == {("/root/.ssh/id_rsa", 1), ("/app/.env", 1), ("/app/server.key", 1)}
    assert secrets[("/root/.ssh/id_rsa", 1)].deleted_later
    assert not secrets[("/root/.ssh/id_rsa", 1)].in_final_image
    assert secrets[("/app/.env", 1)].deleted_later  # the opaque /app hides it


def test_final_filesystem_findings() -> None:
    shadow = b"root::19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nbob:!:19000::::::\n"
    data, diff_ids = image_archive(
        [
            [
                F("etc", dir=True),
                F("usr/bin/gcc-12", 100),
                F("usr/lib/go/bin/go", 50),
                F("usr/lib/go/pkg/tool/linux_amd64/compile", 70),
                F("var/lib/apt/lists/lock"),
                F("var/lib/apt/lists/partial", dir=True),
                F("var/lib/apt/lists/deb_dists_bookworm_main_Packages", 400),
                F("usr/local/bin/tool", 10, mode=0o4755),
                F("usr/local/bin/gone", 10, mode=0o4755),
                F("app/.git/HEAD", 20),
                F("app/Dockerfile", 20),
                F("usr/share/go/src/Dockerfile", 20),
                F("root/.cache/pip/http/x", 300),
                F("etc/shadow", content=b"root:*:1::::::\n"),
            ],
            [F("etc/shadow", content=shadow), F("usr/local/bin/.wh.gone")],
        ]
    )
    report = analyse_export(chunks(data), diff_ids)
    assert [(u.user, u.layer) for u in report.empty_passwords] == [("root", 1)]
    assert {(t.tool, t.path) for t in report.build_tools} == {
        ("gcc", "/usr/bin/gcc-12"),
        ("go", "/usr/lib/go/bin/go"),
    }
    assert {(c.cache, c.path, c.size_bytes) for c in report.package_caches} == {
        ("apt-lists", "/var/lib/apt/lists", 400),
        ("pip", "/root/.cache/pip", 300),
    }
    assert [(s.path, s.mode) for s in report.setuid_files] == [("/usr/local/bin/tool", "4755")]
    assert {(s.kind, s.path) for s in report.stray_files} == {
        ("git", "/app/.git"),
        ("dockerfile", "/app/Dockerfile"),
    }


# --- the real engine ---------------------------------------------------------------------------


@pytest.mark.docker
def test_unclean_apt_lists_match_dive_and_are_reported(images: Callable[..., str], cache_dir: Path) -> None:
    # No network in test builds: an `apt-get update` is simulated by writing lists in a RUN.
    ref = images(
        f"FROM {BASE}\n"
        "RUN mkdir -p /var/lib/apt/lists/partial"
        " && head -c 300000 /dev/urandom > /var/lib/apt/lists/deb.debian.org_dists_bookworm_main_Packages.lz4"
        " && head -c 1000 /dev/urandom > /var/lib/apt/lists/deb.debian.org_dists_bookworm_InRelease"
        " && head -c 4000 /dev/urandom > /usr/local/bin/tool\n"
        "RUN head -c 4000 /dev/urandom > /usr/local/bin/tool\n"
    )
    report = analyse_image(ref, cache_dir=cache_dir)
    apt = [c for c in report.package_caches if c.cache == "apt-lists"]
    assert [(c.path, c.size_bytes, c.files, c.layers) for c in apt] == [
        ("/var/lib/apt/lists", 301_000, 2, (1,))
    ]
    assert_matches_dive(report, run_dive(ref))


@pytest.mark.docker
def test_key_added_then_deleted_is_found_in_its_layer(images: Callable[..., str], cache_dir: Path) -> None:
    key = b"-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----\n"
    ref = images(
        f"FROM {BASE}\nCOPY id_rsa /root/.ssh/id_rsa\nRUN rm /root/.ssh/id_rsa\n",
        {"id_rsa": key},
    )
    report = analyse_image(ref, cache_dir=cache_dir)
    found = [(s.path, s.layer, s.size, s.deleted_later, s.in_final_image) for s in report.secret_files]
    assert found == [("/root/.ssh/id_rsa", 1, len(key), True, False)]


@pytest.mark.docker
@pytest.mark.parametrize("ref", STANDINS)
def test_stock_base_images_have_no_secret_findings(ref: str, cache_dir: Path) -> None:
    report = analyse_image(ref, cache_dir=cache_dir)
    assert report.secret_files == ()
    assert report.stray_files == ()
    assert report.empty_passwords == ()


@pytest.mark.docker
def test_build_tools_are_found_in_golang_and_not_in_python_slim(cache_dir: Path) -> None:
    golang = {t.tool for t in analyse_image("golang:1.19-bookworm", cache_dir=cache_dir).build_tools}
    assert {"gcc", "cc1", "make", "ld", "go", "headers"} <= golang
    assert analyse_image("python:3.11-slim", cache_dir=cache_dir).build_tools == ()


@pytest.mark.docker
def test_setuid_file_empty_password_and_stray_files_are_found(
    images: Callable[..., str], cache_dir: Path
) -> None:
    ref = images(
        f"FROM {BASE}\n"
        "RUN head -c 100 /dev/zero > /usr/local/bin/helper && chmod 4755 /usr/local/bin/helper\n"
        "RUN passwd -d root\n"
        "COPY . /app\n",
        {"main.py": b"print(1)\n", ".git/HEAD": b"ref: refs/heads/main\n", ".DS_Store": b"\0\0"},
    )
    report = analyse_image(ref, cache_dir=cache_dir)
    assert ("/usr/local/bin/helper", "4755", 1) in [(s.path, s.mode, s.layer) for s in report.setuid_files]
    assert [(u.user, u.layer) for u in report.empty_passwords] == [("root", 2)]
    assert {(s.kind, s.path) for s in report.stray_files} == {
        ("git", "/app/.git"),
        ("dockerfile", "/app/Dockerfile"),
        ("ds_store", "/app/.DS_Store"),
    }
