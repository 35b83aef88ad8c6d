"""sandbox.layers.cache: summaries survive the process, a damaged file is read again, and a
second image on the same base reads only its new layers."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sandbox.layers.analyse import analyse_export, analyse_image, forget_memory
from sandbox.layers.cache import ENV_CACHE_DIR, LayerCache
from tests.sandbox.layer_images import (
    BASE,
    DOCUMENTED,
    chunks,
    image_archive,
)


def test_cache_survives_the_process_and_ignores_a_damaged_file(cache_dir: Path) -> None:
    data, diff_ids = image_archive(DOCUMENTED)
    first = analyse_export(chunks(data), diff_ids, cache=LayerCache(cache_dir))
    assert (first.layers_read, first.layers_from_cache, first.exported) == (4, 0, True)
    files = sorted(cache_dir.glob("sha256-*.json.gz"))
    assert len(files) == 4 and not list(cache_dir.glob(".tmp-*"))
    forget_memory()

    def unread() -> Iterator[bytes]:
        raise AssertionError("the export should not be read")
        yield b""  # pragma: no cover

    again = analyse_export(unread(), diff_ids, cache=LayerCache(cache_dir))
    assert (again.layers_read, again.layers_from_cache, again.exported) == (0, 4, False)
    assert again.efficiency == first.efficiency
    forget_memory()
    files[0].write_bytes(gzip.compress(b"{not json"))
    healed = analyse_export(chunks(data), diff_ids, cache=LayerCache(cache_dir))
    assert (healed.layers_read, healed.layers_from_cache) == (1, 3)


def test_env_variable_chooses_the_cache_directory(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_CACHE_DIR, str(cache_dir / "from-env"))
    assert LayerCache().directory == cache_dir / "from-env"


# --- the real engine ---------------------------------------------------------------------------


@pytest.mark.docker
def test_second_image_on_the_same_base_reads_only_its_new_layers(
    images: Callable[..., str], cache_dir: Path
) -> None:
    first = images(f"FROM {BASE}\nRUN echo one > /one\nRUN echo two > /two\n")
    second = images(f"FROM {BASE}\nRUN echo three > /three\n")
    a = analyse_image(first, cache_dir=cache_dir)
    assert (a.layers_read, a.layers_from_cache, a.exported) == (3, 0, False)  # read from overlay2
    b = analyse_image(second, cache_dir=cache_dir)
    assert (b.layers_read, b.layers_from_cache, b.exported) == (1, 1, False)
    again = analyse_image(second, cache_dir=cache_dir)
    assert (again.layers_read, again.layers_from_cache, again.exported) == (0, 2, False)
    assert (again.efficiency, again.inefficiencies, again.setuid_files) == (
        b.efficiency,
        b.inefficiencies,
        b.setuid_files,
    )
    forget_memory()
    from_disk = analyse_image(second, cache_dir=cache_dir)
    assert (from_disk.exported, from_disk.efficiency) == (False, b.efficiency)
