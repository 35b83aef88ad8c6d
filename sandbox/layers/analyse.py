"""The entry points: an image in the engine (`analyse_image`) or a `docker save` stream
(`analyse_export`) becomes an ImageReport. Each layer's summary comes from the first place that
has it: the cache, the engine's overlay2 storage, an export. An image's metrics and findings are
kept in process by its diff ids.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from sandbox import engine
from sandbox.layers.cache import _MEMORY, _MEMORY_LOCK, MEMORY_LAYERS, LayerCache
from sandbox.layers.dive import _dive_metrics, _Metrics
from sandbox.layers.export import _read_export
from sandbox.layers.findings import _Findings, _findings
from sandbox.layers.overlay import _layer_dirs, _LayerOnDisk, _NotExact, _read_on_disk
from sandbox.layers.report import ImageReport, LayerInfo
from sandbox.layers.summary import _DIGEST, LayerError, LayerSummary

_ANALYSES: OrderedDict[tuple[str, ...], tuple[_Metrics, _Findings]] = OrderedDict()


def forget_memory() -> None:
    """Drops the in-process summaries (tests and benchmarks measure the disk path with it)."""
    with _MEMORY_LOCK:
        _MEMORY.clear()
        _ANALYSES.clear()


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _report(
    ref: str, diff_ids: Sequence[str], summaries: Mapping[str, LayerSummary], read: set[str], exported: bool
) -> ImageReport:
    layers = [summaries[d] for d in diff_ids]
    if not layers:
        raise LayerError(f"{ref or 'image'} has no layers")
    key = tuple(diff_ids)
    with _MEMORY_LOCK:
        known = _ANALYSES.get(key)
    if known is None:
        known = (_dive_metrics(layers), _findings(layers))
        with _MEMORY_LOCK:
            _ANALYSES[key] = known
            while len(_ANALYSES) > MEMORY_LAYERS:
                _ANALYSES.popitem(last=False)
    metrics, findings = known
    unique = _unique(diff_ids)
    return ImageReport(
        ref=ref,
        layers=tuple(
            LayerInfo(
                i,
                s.diff_id,
                s.size,
                len(s.entries),
                s.diff_id not in read,
                metrics.layer_wasted[i] if i < len(metrics.layer_wasted) else 0,
            )
            for i, s in enumerate(layers)
        ),
        size_bytes=metrics.size_bytes,
        user_size_bytes=metrics.user_size_bytes,
        efficiency=metrics.efficiency,
        wasted_bytes=metrics.wasted_bytes,
        user_wasted_percent=metrics.user_wasted_percent,
        inefficiencies=metrics.inefficiencies,
        secret_files=findings.secret_files,
        setuid_files=findings.setuid_files,
        build_tools=findings.build_tools,
        package_caches=findings.package_caches,
        stray_files=findings.stray_files,
        empty_passwords=findings.empty_passwords,
        layers_read=sum(1 for d in unique if d in read),
        layers_from_cache=sum(1 for d in unique if d not in read),
        exported=exported,
    )


def _analyse(
    ref: str,
    diff_ids: Sequence[str],
    open_export: Callable[[], Iterable[bytes]],
    cache: LayerCache | None,
    *,
    can_reopen: bool,
    on_disk: Sequence[_LayerOnDisk] | None = None,
) -> ImageReport:
    for diff_id in diff_ids:
        if not _DIGEST.match(diff_id):
            raise LayerError(f"not a sha256 diff id: {diff_id!r}")
    summaries: dict[str, LayerSummary] = {}
    if cache is not None:
        for diff_id in _unique(diff_ids):
            found = cache.get(diff_id)
            if found is not None:
                summaries[diff_id] = found
    read: set[str] = set()
    exported = False
    if on_disk is not None and any(d not in summaries for d in diff_ids):
        for diff_id, where in zip(diff_ids, on_disk, strict=True):
            if diff_id in summaries:
                continue
            try:
                summary = _read_on_disk(diff_id, where)
            except (OSError, ValueError, KeyError, TypeError, LayerError, _NotExact):
                break  # gone, unreadable or not as the export would list it: export the rest
            summaries[diff_id] = summary
            read.add(diff_id)
            if cache is not None:
                cache.put(summary)
    if any(d not in summaries for d in diff_ids):
        exported = True
        result = _read_export(open_export(), diff_ids, summaries, match_sizes=True)
        if (
            result.skipped_by_size
            and can_reopen
            and any(d not in summaries and d not in result.parsed for d in diff_ids)
        ):
            # A new layer had the tar size of a cached one and was skipped: read again, parsing all.
            again = _read_export(open_export(), diff_ids, {**summaries, **result.parsed}, match_sizes=False)
            result.parsed.update(again.parsed)
        if result.config_diff_ids is not None and list(result.config_diff_ids) != list(diff_ids):
            raise LayerError(f"the export of {ref or 'the image'} is of another image")
        for summary in result.parsed.values():
            summaries[summary.diff_id] = summary
            read.add(summary.diff_id)
            if cache is not None:
                cache.put(summary)
        absent = [d for d in _unique(diff_ids) if d not in summaries]
        if absent:
            raise LayerError(f"the export of {ref or 'the image'} lacks layers {', '.join(absent)}")
    return _report(ref, diff_ids, summaries, read, exported)


def analyse_export(
    stream: Iterable[bytes] | Callable[[], Iterable[bytes]],
    diff_ids: Sequence[str],
    *,
    ref: str = "",
    cache: LayerCache | None = None,
) -> ImageReport:
    """Analyses a `docker save` archive given as chunks, layers ordered by `diff_ids` (the
    config's rootfs.diff_ids). Without a cache every layer is parsed; with one, known layers are
    taken from it and the stream may not be read at all. Given a callable that exports again,
    a new layer skipped for having a cached layer's size is read on a second pass; given a
    one-shot stream, that (rare) case is a LayerError."""
    if callable(stream):
        return _analyse(ref, list(diff_ids), stream, cache, can_reopen=True)
    chunks = stream
    return _analyse(ref, list(diff_ids), lambda: chunks, cache, can_reopen=False)


def analyse_image(ref: str, *, cache_dir: Path | None = None) -> ImageReport:
    """Analyses an image in the engine. Layers not cached yet are read from the engine's
    overlay2 storage when it is on this machine and readable (no export: `docker save` stages
    the whole image before its first byte), otherwise from an export. LAYERLAB_LAYERS_FROM_DISK=0
    turns the storage path off."""
    attrs = engine.image_attrs(ref)
    if attrs is None:
        raise engine.EngineError(f"image {ref} is not in the engine")
    diff_ids = [str(d) for d in (attrs.get("RootFS") or {}).get("Layers") or []]
    cache = LayerCache(cache_dir)
    on_disk = _layer_dirs(attrs, diff_ids) if any(cache.get(d) is None for d in diff_ids) else None
    return _analyse(
        ref, diff_ids, lambda: engine.image_export_stream(ref), cache, can_reopen=True, on_disk=on_disk
    )
