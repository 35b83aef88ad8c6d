"""sandbox.layers.dive: dive's efficiency, waste and inefficient paths exactly, on hand-made
archives and on images in the engine, each checked against what dive itself reports."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from sandbox.layers.analyse import analyse_export, analyse_image
from tests.sandbox.layer_images import (
    BASE,
    DOCUMENTED,
    MB,
    F,
    assert_matches_dive,
    chunks,
    image_archive,
    run_dive,
)

# --- dive's numbers, on hand-made archives (no engine needed) -------------------------------------


def test_documented_three_layer_case_gives_dives_efficiency_and_waste(
    archive_file: Callable[[bytes], str],
) -> None:
    data, diff_ids = image_archive(DOCUMENTED)
    report = analyse_export(chunks(data), diff_ids)
    assert report.efficiency == pytest.approx(6 / 11, abs=1e-12)  # the 0.54546 of image-metrics.md
    assert report.wasted_bytes == 4_500_000
    assert report.user_wasted_percent == 1.0
    assert [(i.path, i.count) for i in report.inefficiencies] == [("/big", 2), ("/half", 2)]
    assert_matches_dive(report, run_dive("--source", "docker-archive", archive_file(data)))


def test_deleting_a_directory_counts_its_contents_once_as_dive_does(
    archive_file: Callable[[bytes], str],
) -> None:
    data, diff_ids = image_archive(
        [
            [F("etc", dir=True), F("etc/os-release", 100)],
            [F("d", dir=True), F("d/a", MB), F("d/sub", dir=True), F("d/sub/b", 2 * MB), F("keep", 10)],
            [F(".wh.d"), F("keep", 10)],
        ]
    )
    report = analyse_export(chunks(data), diff_ids)
    assert ("/d", 1, 3 * MB) not in [(i.path, i.count, i.cumulative_size) for i in report.inefficiencies]
    assert report.wasted_bytes == 20
    assert_matches_dive(report, run_dive("--source", "docker-archive", archive_file(data)))


def test_whiteout_of_a_path_never_seen_stops_dive_counting_that_layer(
    archive_file: Callable[[bytes], str],
) -> None:
    data, diff_ids = image_archive(
        [
            [F("-a", 100), F("z", 300)],
            [F(".wh.ghost"), F("-a", 100), F("z", 300)],
        ]
    )
    report = analyse_export(chunks(data), diff_ids)
    # dive visits names in byte order: "-a" < ".wh.ghost" < "z", and stops at the missing ghost
    assert [i.path for i in report.inefficiencies] == ["/-a"]
    assert_matches_dive(report, run_dive("--source", "docker-archive", archive_file(data)))


def test_equal_sizes_are_listed_in_dives_unstable_order(archive_file: Callable[[bytes], str]) -> None:
    names = [f"dir{i:02d}" for i in range(40)]
    data, diff_ids = image_archive(
        [
            [F(n, dir=True) for n in names] + [F("x", 5)],
            [F(n, dir=True) for n in reversed(names)] + [F("x", 5)],
            [F(n, dir=True) for n in names[::3]],
        ]
    )
    report = analyse_export(chunks(data), diff_ids)
    assert len(report.inefficiencies) == 41
    assert_matches_dive(report, run_dive("--source", "docker-archive", archive_file(data)))


def test_single_layer_image_has_no_user_bytes_and_no_waste() -> None:
    data, diff_ids = image_archive([[F("only", 10)]])
    report = analyse_export(chunks(data), diff_ids)
    assert (report.efficiency, report.wasted_bytes, report.user_size_bytes) == (1.0, 0, 0)
    assert report.user_wasted_percent == 0.0
    json.dumps(report.as_dict())


# --- the real engine ---------------------------------------------------------------------------


@pytest.mark.docker
def test_rewritten_and_deleted_files_match_dive_on_the_engine(
    images: Callable[..., str], cache_dir: Path
) -> None:
    ref = images(
        f"FROM {BASE}\n"
        "RUN head -c 2000000 /dev/urandom > /big\n"
        "RUN head -c 2000000 /dev/urandom > /big && head -c 500000 /dev/urandom > /half\n"
        "RUN rm /half\n"
    )
    report = analyse_image(ref, cache_dir=cache_dir)
    assert report.wasted_bytes == 4_500_000
    assert report.user_wasted_percent == 1.0
    assert_matches_dive(report, run_dive(ref))


@pytest.mark.docker
def test_hand_made_archive_loaded_into_the_engine_matches_dive(
    archive_file: Callable[[bytes], str], loaded: Callable[[str], str], cache_dir: Path
) -> None:
    data, _ = image_archive(DOCUMENTED)
    ref = loaded(archive_file(data))
    report = analyse_image(ref, cache_dir=cache_dir)
    assert report.efficiency == pytest.approx(6 / 11, abs=1e-12)
    assert_matches_dive(report, run_dive(ref))


@pytest.mark.docker
def test_multi_stage_python_image_matches_dive(images: Callable[..., str], cache_dir: Path) -> None:
    ref = images(
        "FROM python:3.11-slim AS build\n"
        "WORKDIR /src\n"
        "COPY app.py .\n"
        "RUN python -m compileall -q . && mkdir -p /out && cp -r __pycache__ app.py /out/\n"
        "FROM python:3.11-slim\n"
        "RUN useradd --create-home app\n"
        "WORKDIR /app\n"
        "COPY --from=build /out/ ./\n"
        "RUN rm -rf /app/__pycache__ && touch /app/ready\n"
        "USER app\n",
        {"app.py": b"print('hello')\n" * 50},
    )
    report = analyse_image(ref, cache_dir=cache_dir)
    assert report.build_tools == ()
    assert_matches_dive(report, run_dive(ref))


@pytest.mark.docker
def test_directory_deleted_in_a_later_layer_matches_dive(images: Callable[..., str], cache_dir: Path) -> None:
    ref = images(
        f"FROM {BASE}\n"
        "RUN mkdir -p /data/sub && head -c 1500000 /dev/urandom > /data/a"
        " && head -c 700000 /dev/urandom > /data/sub/b && mkdir /data/empty\n"
        "RUN rm -rf /data && mkdir /data2\n"
    )
    report = analyse_image(ref, cache_dir=cache_dir)
    assert_matches_dive(report, run_dive(ref))
