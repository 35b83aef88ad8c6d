"""sandbox.layers.export: both layouts of a `docker save` archive give the same numbers, and an
export is left unread once the layers not cached yet are in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sandbox.layers.analyse import analyse_export
from sandbox.layers.cache import LayerCache
from tests.sandbox.layer_images import (
    DOCUMENTED,
    MB,
    F,
    chunks,
    image_archive,
    oci_archive,
)


def test_oci_layout_export_gives_the_same_numbers() -> None:
    legacy, diff_ids = image_archive(DOCUMENTED)
    oci, oci_ids = oci_archive(DOCUMENTED)
    assert oci_ids == diff_ids
    a, b = analyse_export(chunks(legacy), diff_ids), analyse_export(chunks(oci), diff_ids)
    assert (a.efficiency, a.wasted_bytes, a.inefficiencies) == (
        b.efficiency,
        b.wasted_bytes,
        b.inefficiencies,
    )


def test_export_is_left_unread_once_the_new_layers_are_in(cache_dir: Path) -> None:
    base = [F("usr/lib/big", 40 * MB)]
    first, first_ids = image_archive([base, [F("one", 10)]])
    analyse_export(chunks(first), first_ids, cache=LayerCache(cache_dir))
    data, diff_ids = image_archive([base, [F("two", 10)]], newest_first=True)
    pieces = list(chunks(data, 1 << 20))
    taken: list[int] = []
    closed: list[bool] = []

    def stream() -> Iterator[bytes]:
        try:
            for i, piece in enumerate(pieces):
                taken.append(i)
                yield piece
        finally:
            closed.append(True)

    report = analyse_export(stream(), diff_ids, cache=LayerCache(cache_dir))
    assert (report.layers_read, report.layers_from_cache) == (1, 1)
    assert closed == [True]
    assert len(taken) < len(pieces) // 2
