"""sandbox.layers.analyse: an export of another image is refused, and a new layer skipped for
having a cached layer's size is read on a second pass."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.layers.analyse import analyse_export
from sandbox.layers.cache import LayerCache
from sandbox.layers.summary import LayerError
from tests.sandbox.layer_images import (
    F,
    chunks,
    image_archive,
)


def test_export_of_another_image_is_refused() -> None:
    data, _ = image_archive([[F("a", 1)]])
    _, other_ids = image_archive([[F("b", 1)]])
    with pytest.raises(LayerError):
        analyse_export(chunks(data), other_ids)


def test_new_layer_with_the_size_of_a_cached_one_is_read_on_a_second_pass(cache_dir: Path) -> None:
    base, one, two = [F("base", 200_000)], [F("aaaa", 100_000)], [F("bbbb", 100_000)]
    first, first_ids = image_archive([base, one])
    analyse_export(chunks(first), first_ids, cache=LayerCache(cache_dir))
    data, diff_ids = image_archive([base, one, two], newest_first=True)
    with pytest.raises(LayerError):
        analyse_export(chunks(data), diff_ids, cache=LayerCache(cache_dir))
    exports: list[int] = []

    def export() -> Iterator[bytes]:
        exports.append(1)
        return chunks(data)

    report = analyse_export(export, diff_ids, cache=LayerCache(cache_dir))
    assert (len(exports), report.layers_read, report.layers_from_cache) == (2, 1, 2)
    assert report.layers[2].diff_id == diff_ids[2] and not report.layers[2].from_cache
