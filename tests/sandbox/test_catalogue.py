"""The base-image catalogue against the real engine: seeding is idempotent, absent images are
made, and every stand-in does what lessons expect of the official image, offline."""

from __future__ import annotations

import base64
import hashlib
import io
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sandbox import engine
from sandbox.catalogue import (
    CATALOGUE,
    DEFAULT_PATH,
    DISTROLESS_IMAGES,
    LABEL_DESCRIPTION,
    LABEL_MADE_BY,
    LABEL_STANDIN,
    BaseImage,
    CatalogueError,
    bookworm_mirror,
    missing,
    seed,
)
from sandbox.run.locked import run_command

BY_REF = {image.ref: image for image in CATALOGUE}
STANDINS = [image for image in CATALOGUE if not image.is_scratch]
TEST_LABEL = "org.layerlab.test"

Build = Callable[[str, dict[str, bytes]], tuple[int, str, str]]


@pytest.fixture(scope="module")
def seeded() -> None:
    """Makes whatever is missing (slow only the first time on a machine)."""
    seed(CATALOGUE)


@pytest.fixture
def build(tmp_path: Path) -> Iterator[Build]:
    """An offline (`--network=none`) BuildKit build of a Dockerfile and context files; every
    image it makes is removed afterwards."""
    made: list[str] = []

    def run(dockerfile: str, files: dict[str, bytes]) -> tuple[int, str, str]:
        ref = f"layerlab-test/behaves:{uuid.uuid4().hex[:12]}"
        made.append(ref)
        context = tmp_path / ref.rsplit(":", 1)[1]
        context.mkdir()
        (context / "Dockerfile").write_text(dockerfile, encoding="utf-8")
        for name, data in files.items():
            (context / name).write_bytes(data)
        proc = engine.start_build(
            context_dir=context, tag=ref, labels={TEST_LABEL: "catalogue"}, network="none"
        )
        out, _ = proc.communicate(timeout=300)
        return proc.returncode, out.decode("utf-8", "replace"), ref

    yield run
    for ref in made:
        engine.image_remove(ref)


def _wheel() -> tuple[str, bytes]:
    """A minimal pure-Python wheel, so `pip install` has something local to install."""
    name = "layerlab_tiny-0.1-py3-none-any.whl"
    files = {
        "layerlab_tiny/__init__.py": b'GREETING = "hello from a local wheel"\n',
        "layerlab_tiny-0.1.dist-info/METADATA": (
            b"Metadata-Version: 2.1\nName: layerlab-tiny\nVersion: 0.1\n"
        ),
        "layerlab_tiny-0.1.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append("layerlab_tiny-0.1.dist-info/RECORD,,")
    files["layerlab_tiny-0.1.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return name, buffer.getvalue()


WHEEL_NAME, WHEEL = _wheel()

BEHAVIOUR: dict[str, tuple[str, dict[str, bytes]]] = {
    "debian:bookworm-slim": (
        """\
FROM debian:bookworm-slim
RUN useradd app && id app && test "$(cat /etc/debian_version | cut -d. -f1)" = 12
USER app
""",
        {},
    ),
    "python:3.11-slim": (
        f"""\
FROM python:3.11-slim
WORKDIR /src
COPY requirements-empty.txt requirements.txt {WHEEL_NAME} ./
RUN python -c "import sys; assert sys.version_info[:2] == (3, 11), sys.version" \\
 && python3 --version && pip --version \\
 && test "$LANG" = C.UTF-8 && test "$PYTHON_VERSION" = "$(python -c 'import platform; print(platform.python_version())')" \\
 && pip install --no-cache-dir -r requirements-empty.txt \\
 && pip install --no-cache-dir -r requirements.txt \\
 && python -c "import layerlab_tiny; print(layerlab_tiny.GREETING)" \\
 && python -m venv /tmp/venv && /tmp/venv/bin/python -c "import sys; assert sys.prefix == '/tmp/venv'" \\
 && useradd app
USER app
""",  # noqa: E501
        {
            "requirements-empty.txt": b"# this lesson needs no packages\n",
            "requirements.txt": f"./{WHEEL_NAME}\n".encode(),
            WHEEL_NAME: WHEEL,
        },
    ),
    "node:18-bookworm-slim": (
        """\
FROM node:18-bookworm-slim
RUN node -e "if (!process.version.startsWith('v18.')) { console.error(process.version); process.exit(1) }" \\
 && npm --version \\
 && test "$(id -u node):$(id -g node)" = 1000:1000 \\
 && test "$(getent passwd node | cut -d: -f6)" = /home/node && test -d /home/node \\
 && useradd app
USER node
RUN node -e "require('fs').writeFileSync('/home/node/ok', 'ok')"
""",
        {},
    ),
    "golang:1.19-bookworm": (
        """\
FROM golang:1.19-bookworm
WORKDIR /src
COPY main.go .
RUN go version | grep -F ' go1.19.' && test "$GOPATH" = /go \\
 && echo "$PATH" | tr : '\\n' | grep -qx /go/bin \\
 && CGO_ENABLED=0 go build -o /usr/local/bin/hello main.go \\
 && test "$(hello)" = "hello, layerlab" \\
 && gcc --version && make --version && git --version && test -f /etc/ssl/certs/ca-certificates.crt \\
 && useradd app
""",
        {
            "main.go": b'package main\n\nimport "fmt"\n\nfunc main() {\n'
            b'\tfmt.Println("hello, layerlab")\n}\n',
        },
    ),
}

EXPECTED_CONFIG: dict[str, dict[str, object]] = {
    "debian:bookworm-slim": {"Cmd": ["bash"]},
    "python:3.11-slim": {"Cmd": ["python3"]},
    "node:18-bookworm-slim": {"Cmd": ["node"], "Entrypoint": ["docker-entrypoint.sh"]},
    "golang:1.19-bookworm": {"WorkingDir": "/go"},
}


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_seeding_twice_does_nothing_the_second_time() -> None:
    seed(CATALOGUE)
    ids = {ref: (engine.image_attrs(ref) or {}).get("Id") for ref in BY_REF if ref != "scratch"}
    assert all(ids.values()), ids
    assert missing(CATALOGUE) == []

    messages: list[str] = []
    again = seed(CATALOGUE, progress=messages.append)

    assert [r.ref for r in again] == [image.ref for image in CATALOGUE]
    assert {r.result for r in again} == {"present"}
    assert {r.ref: r.image_id for r in again if r.ref != "scratch"} == ids
    assert not any("docker build" in m or "debootstrap" in m for m in messages), messages


@pytest.mark.docker
@pytest.mark.slow
def test_an_absent_image_is_built_then_skipped(seeded: None, request: pytest.FixtureRequest) -> None:
    ref = f"layerlab-test/tiny:{uuid.uuid4().hex[:12]}"
    request.addfinalizer(lambda: engine.image_remove(ref))
    tiny = BaseImage(
        ref=ref,
        description="A tiny test image",
        how="docker build FROM debian:bookworm-slim writing one file",
        dockerfile="FROM debian:bookworm-slim\nRUN echo tiny > /tiny\n",
    )
    assert missing([tiny]) == [ref]

    first = seed([tiny])
    second = seed([tiny])

    assert first[0].result == "built" and first[0].seconds > 0
    assert first[0].size_bytes is not None and first[0].image_id
    assert second[0].result == "present"
    assert second[0].image_id == first[0].image_id
    assert missing([tiny]) == []
    labels = (engine.image_attrs(ref) or {})["Config"]["Labels"]
    assert labels[LABEL_MADE_BY] == tiny.how


@pytest.mark.docker
def test_an_image_whose_parent_is_missing_is_refused_clearly(
    request: pytest.FixtureRequest,
) -> None:
    parent = f"layerlab-test/absent:{uuid.uuid4().hex[:12]}"
    child = BaseImage(
        ref=f"layerlab-test/orphan:{uuid.uuid4().hex[:12]}",
        description="Built FROM an image nobody made",
        how="docker build FROM a missing image",
        dockerfile=f"FROM {parent}\nRUN true\n",
    )
    request.addfinalizer(lambda: engine.image_remove(child.ref))

    with pytest.raises(CatalogueError, match=f"FROM {parent}.*not in the engine"):
        seed([child])
    assert not engine.image_exists(child.ref)


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("ref", list(BEHAVIOUR))
def test_each_standin_behaves_like_the_official_image_offline(seeded: None, build: Build, ref: str) -> None:
    dockerfile, files = BEHAVIOUR[ref]

    returncode, output, built = build(dockerfile, files)

    assert returncode == 0, output[-3000:]
    assert engine.image_exists(built)
    config = (engine.image_attrs(ref) or {})["Config"]
    for key, value in EXPECTED_CONFIG[ref].items():
        assert config.get(key) == value, (key, config.get(key))


@pytest.mark.docker
def test_every_standin_carries_its_labels(seeded: None) -> None:
    for image in STANDINS:
        labels = (engine.image_attrs(image.ref) or {})["Config"]["Labels"] or {}
        assert labels.get(LABEL_STANDIN) == "true", image.ref
        assert labels.get(LABEL_DESCRIPTION) == image.description, image.ref
        assert "stand-in" in labels[LABEL_DESCRIPTION] and image.ref in labels[LABEL_DESCRIPTION]
        assert labels.get(LABEL_MADE_BY, "").startswith(image.how), image.ref
    root_made_by = (engine.image_attrs("debian:bookworm-slim") or {})["Config"]["Labels"][LABEL_MADE_BY]
    assert "debootstrap --variant=minbase bookworm" in root_made_by
    assert "(archive: " in root_made_by


DEB822 = """\
# Security first, so the parser must skip it rather than take the first URIs line.
Types: deb
URIs: http://security.example.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://disabled.example.org/debian
Suites: bookworm
Components: main
Enabled: no

Types: deb-src deb
URIs: http://mirror.example.org/debian http://second.example.org/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mQINBFxZ
 -----END PGP PUBLIC KEY BLOCK-----
"""

ONE_LINE = """\
# deb http://commented.example.org/debian bookworm main
deb-src http://source.example.org/debian bookworm main
deb http://security.example.org/debian-security bookworm-security main
deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] http://one.example.org/debian bookworm main
"""


def test_sources_parsing_finds_the_bookworm_archive(tmp_path: Path) -> None:
    sources_d = tmp_path / "sources.list.d"
    sources_d.mkdir()
    absent = tmp_path / "no-sources.list"
    one_line = tmp_path / "sources.list"
    one_line.write_text(ONE_LINE)

    assert bookworm_mirror(absent, sources_d) is None

    (sources_d / "debian.sources").write_text(DEB822)
    (sources_d / "other.sources.disabled").write_text(
        "Types: deb\nURIs: http://ignored.example.org/x\nSuites: bookworm\nComponents: main\n"
    )
    assert bookworm_mirror(absent, sources_d) == "http://mirror.example.org/debian"

    assert bookworm_mirror(one_line, tmp_path / "missing.d") == "http://one.example.org/debian"
    assert bookworm_mirror(one_line, sources_d) == "http://one.example.org/debian"


# --- distroless -----------------------------------------------------------------------------

FLAVOURS = ("static", "base", "cc", "python3")
TAGS = ("", ":nonroot", ":debug", ":debug-nonroot")
DISTROLESS_REFS = [f"gcr.io/distroless/{f}-debian12{tag}" for f in FLAVOURS for tag in TAGS]
CERTS = "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"
PYTHON_ENTRY = ["/usr/bin/python3.11"]


def expected_distroless_config(ref: str) -> dict[str, object]:
    """The config upstream's image of that name has (User, WorkingDir, Entrypoint, Env)."""
    name, _, tag = ref.partition(":")
    python = name.endswith("python3-debian12")
    debug, nonroot = tag.startswith("debug"), tag.endswith("nonroot")
    env = [f"PATH={DEFAULT_PATH}" + (":/busybox" if debug else ""), CERTS] + (
        ["LANG=C.UTF-8"] if python else []
    )
    entrypoint = PYTHON_ENTRY if python else (["/busybox/sh"] if debug else None)
    return {
        "User": "65532:65532" if nonroot else "",
        "WorkingDir": "/home/nonroot" if nonroot else "/",
        "Entrypoint": entrypoint,
        "Env": env,
    }


def test_the_catalogue_has_every_distroless_image_and_tag_after_its_parents() -> None:
    refs = [image.ref for image in CATALOGUE]
    assert [image.ref for image in DISTROLESS_IMAGES] == DISTROLESS_REFS
    for index, image in enumerate(CATALOGUE):
        for parent in image.parents:
            assert parent in refs[:index], (image.ref, parent)


def test_the_distroless_builder_stage_is_the_same_text_in_every_dockerfile() -> None:
    builders = {
        image.dockerfile.partition("\n\nFROM ")[0]
        for image in DISTROLESS_IMAGES
        if image.dockerfile is not None and "AS distroless-root" in image.dockerfile
    }
    assert len(builders) == 1
    [builder] = builders
    assert builder.startswith("FROM debian:bookworm-slim AS distroless-root\n")
    assert "apt-get download" in builder and "python3.11-minimal" in builder and "busybox-static" in builder


@pytest.mark.docker
def test_each_distroless_image_is_seeded_with_its_labels_and_upstreams_config(seeded: None) -> None:
    for ref in DISTROLESS_REFS:
        attrs = engine.image_attrs(ref)
        assert attrs is not None, ref
        config = attrs["Config"]
        labels = config["Labels"]
        assert labels[LABEL_STANDIN] == "true"
        assert labels[LABEL_DESCRIPTION] == BY_REF[ref].description
        assert labels[LABEL_DESCRIPTION].startswith(
            f"Local stand-in for the official {ref} image (no registry here): "
        )
        assert labels[LABEL_MADE_BY] == BY_REF[ref].how
        expected = expected_distroless_config(ref)
        found = {key: config.get(key) or ("" if key in ("User", "WorkingDir") else None) for key in expected}
        assert found == expected, ref
        assert config.get("Cmd") is None, ref
    assert "dpkg-deb -x" in BY_REF["gcr.io/distroless/static-debian12"].how
    assert "FROM scratch" in BY_REF["gcr.io/distroless/static-debian12"].how


PROBE_GO = b"""\
package main

import (
\t"crypto/x509"
\t"fmt"
\t"os"
\t"os/user"
\t"time"
)

func main() {
\t_, shell := os.Stat("/bin/sh")
\tpool, certsErr := x509.SystemCertPool()
\tseoul, tzErr := time.LoadLocation("Asia/Seoul")
\tme, userErr := user.Current()
\twd, _ := os.Getwd()
\tfmt.Printf("uid=%d gid=%d user=%v cwd=%s sh=%v certs=%v tz=%v\\n",
\t\tos.Getuid(), os.Getgid(), userErr == nil && me.Username == "nonroot", wd, shell == nil,
\t\tcertsErr == nil && len(pool.Subjects()) > 100, tzErr == nil && seoul.String() == "Asia/Seoul")
}
"""


@pytest.mark.docker
@pytest.mark.slow
def test_a_static_go_binary_runs_on_static_nonroot_as_65532_with_certificates_and_no_shell(
    seeded: None, build: Build
) -> None:
    dockerfile = """\
FROM golang:1.19-bookworm AS build
WORKDIR /src
COPY main.go .
RUN CGO_ENABLED=0 go build -o /out/probe main.go
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/probe /usr/local/bin/probe
ENTRYPOINT ["/usr/local/bin/probe"]
"""
    returncode, output, built = build(dockerfile, {"main.go": PROBE_GO})
    assert returncode == 0, output[-3000:]

    ran = run_command(built, None)

    assert (ran.exit_code, ran.stdout, ran.stderr) == (
        0,
        "uid=65532 gid=65532 user=true cwd=/home/nonroot sh=false certs=true tz=true\n",
        "",
    )


@pytest.mark.docker
@pytest.mark.parametrize("ref", [f"gcr.io/distroless/{f}-debian12:nonroot" for f in FLAVOURS])
def test_nonroot_tags_have_no_shell(seeded: None, ref: str) -> None:
    ran = run_command(ref, ["-c", "true"], entrypoint=["/bin/sh"])

    assert (ran.stdout, ran.stderr) == ("", "")
    assert ran.start_error is not None
    assert 'exec: "/bin/sh": stat /bin/sh: no such file or directory' in ran.start_error


@pytest.mark.docker
def test_python3_runs_its_entrypoint_python311_as_upstream_and_nonroot_as_65532(seeded: None) -> None:
    ran = run_command("gcr.io/distroless/python3-debian12", ["-c", "print(1+1)"])
    assert (ran.exit_code, ran.stdout, ran.stderr) == (0, "2\n", "")

    probe = (
        "import os, sys, ssl, sqlite3, zoneinfo; "
        "print(os.getuid(), os.getgid(), os.getcwd(), sys.version_info[:2])"
    )
    ran = run_command("gcr.io/distroless/python3-debian12:nonroot", ["-c", probe])
    assert (ran.exit_code, ran.stdout, ran.stderr) == (0, "65532 65532 /home/nonroot (3, 11)\n", "")


@pytest.mark.docker
def test_the_debug_images_have_busybox_sh_and_the_users_of_distroless(seeded: None) -> None:
    script = (
        "readlink /busybox/sh; echo $PATH; id -u; cat /etc/passwd /etc/group; "
        "stat -c '%a %u' /tmp /root /home/nonroot"
    )
    ran = run_command("gcr.io/distroless/static-debian12:debug", ["-c", script])

    assert (ran.exit_code, ran.stderr) == (0, "")
    assert ran.stdout == (
        "busybox\n"
        f"{DEFAULT_PATH}:/busybox\n"
        "0\n"
        "root:x:0:0:root:/root:/sbin/nologin\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
        "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
        "root:x:0:\n"
        "nobody:x:65534:\n"
        "tty:x:5:\n"
        "staff:x:50:\n"
        "nonroot:x:65532:\n"
        "1777 0\n"
        "700 0\n"
        "700 65532\n"
    )
    ran = run_command(
        "gcr.io/distroless/base-debian12:debug-nonroot",
        ["-c", "id -u; pwd; test -e /lib64/ld-linux-x86-64.so.2 && echo libc"],
    )
    assert (ran.exit_code, ran.stdout, ran.stderr) == (0, "65532\n/home/nonroot\nlibc\n", "")
