"""The base images lessons build FROM, and how to make them on a machine that cannot pull.

No registry is reachable, so every base image is a local stand-in: a Debian bookworm root made
with debootstrap from the archive this machine's apt sources point to, images built FROM it
that install Debian's own packages, and the distroless images, whose roots are Debian packages'
files extracted with dpkg-deb (fetched by a builder stage FROM that root) as Google makes them.
Each stand-in must behave like the official image for what lessons do with it (interpreters on
PATH, `pip install`, a `node` user, `go build`, `useradd`, a static binary on distroless), and
says in its labels that it is a stand-in and exactly how it was made. Alpine images are not
among them: Alpine's apk packages cannot be fetched here, so they cannot be made offline.

Every Docker operation goes through `sandbox.engine`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sandbox import engine, network
from sandbox.policy import LocalImage, normalize_image
from sandbox.rewrite import alias_of

SUITE = "bookworm"
LABEL_STANDIN = "org.layerlab.standin"
LABEL_DESCRIPTION = "org.layerlab.description"
LABEL_MADE_BY = "org.layerlab.made-by"
HOST_EXTRA_CAS = Path("/usr/local/share/ca-certificates")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

SeedOutcome = Literal["present", "built"]
Progress = Callable[[str], None]


class CatalogueError(RuntimeError):
    """Seeding cannot proceed (wrong order, not root, debootstrap failed): ours to fix."""


@dataclass(frozen=True)
class BaseImage:
    """One catalogue entry. Exactly one way of making it: `rootfs=True` (the debootstrap root),
    a `dockerfile` FROM another catalogue image, or neither for `scratch`, which the engine
    provides and which is never built."""

    ref: str
    description: str
    how: str
    rootfs: bool = False
    dockerfile: str | None = None
    context_files: tuple[tuple[str, bytes], ...] = ()  # (name, content) the Dockerfile COPYs

    def __post_init__(self) -> None:
        ways = int(self.rootfs) + int(self.dockerfile is not None)
        if self.is_scratch and ways:
            raise ValueError("scratch is provided by the engine and is never built")
        if not self.is_scratch and ways != 1:
            raise ValueError(f"{self.ref}: give exactly one of rootfs=True or dockerfile")

    @property
    def is_scratch(self) -> bool:
        return self.ref == "scratch"

    @property
    def parents(self) -> tuple[str, ...]:
        """Images the Dockerfile builds FROM (stage names and scratch excluded)."""
        if self.dockerfile is None:
            return ()
        stages: set[str] = set()
        found: list[str] = []
        for match in _FROM_RE.finditer(self.dockerfile):
            source, alias = match.group("source"), match.group("alias")
            if source.lower() not in stages and source != "scratch" and source not in found:
                found.append(source)
            if alias:
                stages.add(alias.lower())
        return tuple(found)

    def labels(self, made_by: str | None = None) -> dict[str, str]:
        return {
            LABEL_STANDIN: "true",
            LABEL_DESCRIPTION: self.description,
            LABEL_MADE_BY: made_by or self.how,
        }


@dataclass(frozen=True)
class SeedResult:
    ref: str
    result: SeedOutcome
    seconds: float
    size_bytes: int | None
    image_id: str | None
    notes: tuple[str, ...] = field(default=())


_FROM_RE = re.compile(
    r"^[ \t]*FROM[ \t]+(?:--\S+[ \t]+)*(?P<source>\S+)(?:[ \t]+AS[ \t]+(?P<alias>\S+))?",
    re.IGNORECASE | re.MULTILINE,
)

_PYTHON_DOCKERFILE = """\
FROM debian:bookworm-slim
ENV LANG=C.UTF-8 \\
    PYTHON_VERSION=3.11.2
RUN set -eux; \\
    apt-get update; \\
    apt-get install -y --no-install-recommends \\
        python3 python3-pip python3-venv python-is-python3 ca-certificates; \\
    rm -rf /var/lib/apt/lists/*; \\
    rm -f /usr/lib/python3.11/EXTERNALLY-MANAGED; \\
    test "$(python3 -c 'import platform; print(platform.python_version())')" = "$PYTHON_VERSION"; \\
    python --version; \\
    pip --version
CMD ["python3"]
"""

_NODE_ENTRYPOINT_LINES = (
    "#!/bin/sh",
    "set -e",
    'if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] '
    '|| { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then',
    '  set -- node "$@"',
    "fi",
    'exec "$@"',
)
_NODE_ENTRYPOINT = " ".join(f"'{line}'" for line in _NODE_ENTRYPOINT_LINES)

_NODE_DOCKERFILE = f"""\
FROM debian:bookworm-slim
RUN set -eux; \\
    apt-get update; \\
    apt-get install -y --no-install-recommends nodejs npm; \\
    rm -rf /var/lib/apt/lists/*; \\
    groupadd --gid 1000 node; \\
    useradd --uid 1000 --gid node --shell /bin/bash --create-home node; \\
    printf '%s\\n' {_NODE_ENTRYPOINT} > /usr/local/bin/docker-entrypoint.sh; \\
    chmod 755 /usr/local/bin/docker-entrypoint.sh; \\
    node -e 'if (process.versions.node.split(".")[0] !== "18") process.exit(1)'; \\
    npm --version
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["node"]
"""

_GOLANG_DOCKERFILE = """\
FROM debian:bookworm-slim
ENV GOPATH=/go
ENV PATH=$GOPATH/bin:/usr/lib/go-1.19/bin:$PATH
RUN set -eux; \\
    apt-get update; \\
    apt-get install -y --no-install-recommends \\
        golang-1.19-go gcc g++ libc6-dev make pkg-config git ca-certificates \\
        curl wget netbase openssh-client procps; \\
    rm -rf /var/lib/apt/lists/*; \\
    mkdir -p "$GOPATH/src" "$GOPATH/bin"; \\
    chmod -R 1777 "$GOPATH"; \\
    go version | grep -F " go1.19."
WORKDIR $GOPATH
"""

_STANDIN = "Local stand-in for the official {ref} image (no registry here)"
_FROM_DEBIAN = (
    "docker build FROM the local debian:bookworm-slim stand-in: "
    "apt-get install --no-install-recommends {packages} from Debian {suite}, apt lists removed"
)

# --- distroless -----------------------------------------------------------------------------
# Google's distroless images are Debian packages' files extracted into an empty root plus a few
# hand-written files, with no shell and no package manager; the stand-ins are made the same way
# from the same Debian release (sandbox/distroless_root.sh does the extracting). One builder
# stage, the same text in every distroless Dockerfile, fetches and unpacks the packages of all
# of them; BuildKit runs it once and reuses it for the rest. Each image COPYs its own layer from
# it onto its parent, as upstream layers base on static, cc on base and python3 on cc.

DISTROLESS = "gcr.io/distroless"
NONROOT_USER = "65532:65532"
NONROOT_HOME = "/home/nonroot"
DISTROLESS_PACKAGES: dict[str, tuple[str, ...]] = {
    "static": ("base-files", "netbase", "tzdata", "media-types", "ca-certificates"),
    "base": ("libc6", "libssl3"),
    "cc": ("libgcc-s1", "libstdc++6", "libgomp1", "gcc-12-base"),
    # upstream's python3-debian12 list: python3.11's minimal runtime and what its modules load
    "python3": (
        "libbz2-1.0",
        "libdb5.3",
        "libexpat1",
        "liblzma5",
        "libsqlite3-0",
        "libuuid1",
        "libncursesw6",
        "libtinfo6",
        "python3-distutils",
        "zlib1g",
        "libcom-err2",
        "libcrypt1",
        "libgssapi-krb5-2",
        "libk5crypto3",
        "libkeyutils1",
        "libkrb5-3",
        "libkrb5support0",
        "libnsl2",
        "libreadline8",
        "libtirpc3",
        "libffi8",
        "libpython3.11-minimal",
        "libpython3.11-stdlib",
        "python3.11-minimal",
    ),
}
# Downloaded too: openssl (base gets only its configuration) and busybox-static (/busybox of
# the debug images).
_DISTROLESS_ALSO = ("openssl", "busybox-static")
_DISTROLESS_SCRIPT = "distroless_root.sh"


def _continued(words: Iterable[str], indent: str, width: int = 96) -> str:
    """Words as Dockerfile continuation lines of at most `width` characters."""
    lines: list[str] = []
    for word in words:
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(indent + word)
    return " \\\n".join(lines)


_ALL_DISTROLESS = (*(p for group in DISTROLESS_PACKAGES.values() for p in group), *_DISTROLESS_ALSO)
_LAYER_ARGS = " \\\n".join(
    f'        "{" ".join(DISTROLESS_PACKAGES[layer])}"' for layer in DISTROLESS_PACKAGES
)
_DISTROLESS_BUILDER = f"""\
FROM debian:bookworm-slim AS distroless-root
COPY {_DISTROLESS_SCRIPT} /usr/local/bin/distroless-root
RUN set -eux; \\
    apt-get update; \\
    mkdir /debs; \\
    cd /debs; \\
    apt-get download \\
{_continued(_ALL_DISTROLESS, "        ")}; \\
    rm -rf /var/lib/apt/lists/*; \\
    sh /usr/local/bin/distroless-root \\
{_LAYER_ARGS}
"""
_DISTROLESS_FILES = ((_DISTROLESS_SCRIPT, (Path(__file__).parent / _DISTROLESS_SCRIPT).read_bytes()),)


@dataclass(frozen=True)
class _Flavour:
    """One of upstream's four images, before its tags."""

    name: str  # static, base, cc, python3
    parent: str | None  # the :latest it is built on; None: FROM scratch
    contents: str  # what it holds, for the description
    config: tuple[str, ...] = ()  # instructions after the COPY
    keeps_entrypoint: bool = False  # its debug image keeps the ENTRYPOINT (python3, as upstream)

    @property
    def ref(self) -> str:
        return f"{DISTROLESS}/{self.name}-debian12"


_FLAVOURS = (
    _Flavour(
        "static",
        None,
        "for static binaries: CA certificates, tzdata, netbase, /etc/passwd and /etc/group "
        "(root 0, nobody 65534, nonroot 65532), os-release, /tmp; no shell, no package manager",
        (f"ENV PATH={DEFAULT_PATH} SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",),
    ),
    _Flavour(
        "base",
        f"{DISTROLESS}/static-debian12",
        "static plus glibc (libc6), libssl3 and openssl's configuration; no shell",
    ),
    _Flavour(
        "cc",
        f"{DISTROLESS}/base-debian12",
        "base plus libgcc-s1, libstdc++6 and libgomp1, for C and C++ programs; no shell",
    ),
    _Flavour(
        "python3",
        f"{DISTROLESS}/cc-debian12",
        "cc plus Debian's python3.11 minimal runtime, ENTRYPOINT /usr/bin/python3.11; no shell, no pip",
        ("ENV LANG=C.UTF-8", 'ENTRYPOINT ["/usr/bin/python3.11"]'),
        keeps_entrypoint=True,
    ),
)

_SCRIPT_NOTE = (
    "no maintainer scripts run; each package's control file in /var/lib/dpkg/status.d; docs but "
    "copyright, man pages and locales removed; sandbox/distroless_root.sh"
)


def _flavour_how(flavour: _Flavour) -> str:
    packages = " ".join(DISTROLESS_PACKAGES[flavour.name])
    fetched = (
        "docker build: a builder stage FROM the local debian:bookworm-slim stand-in apt-get "
        f"downloads {packages} from Debian {SUITE} and dpkg-deb -x's them into an empty root"
    )
    if flavour.name == "static":
        return (
            f"{fetched} ({_SCRIPT_NOTE}), writes /etc/ssl/certs/ca-certificates.crt from the "
            "package's certificates and the host's extra CAs as update-ca-certificates would, "
            "/etc/passwd and /etc/group (root 0, nobody 65534, nonroot 65532, shell "
            "/sbin/nologin), nsswitch.conf, /usr/lib/os-release (PRETTY_NAME=Distroless), "
            "/root and /home/nonroot 0700, /tmp 1777; the final stage is FROM scratch with one "
            "COPY of that root; ENV PATH and SSL_CERT_FILE"
        )
    extra = " and openssl's configuration files (not the program)" if flavour.name == "base" else ""
    config = "; " + "; ".join(flavour.config) if flavour.config else ""
    return (
        f"{fetched}{extra} ({_SCRIPT_NOTE}); FROM the local {flavour.parent} stand-in, "
        f"one COPY of that root{config}"
    )


def _distroless_images(flavour: _Flavour) -> tuple[BaseImage, ...]:
    """The image and its :nonroot, :debug and :debug-nonroot tags, parents first."""
    latest = flavour.ref
    debug = f"{latest}:debug"
    standin = _STANDIN.format(ref=latest)
    copy = f"COPY --from=distroless-root /layers/{flavour.name}/ /"
    image = BaseImage(
        ref=latest,
        description=f"{standin}: {flavour.contents}",
        how=_flavour_how(flavour),
        dockerfile="\n".join(
            [_DISTROLESS_BUILDER, f"FROM {flavour.parent or 'scratch'}", copy, *flavour.config]
        )
        + "\n",
        context_files=_DISTROLESS_FILES,
    )
    entrypoint = () if flavour.keeps_entrypoint else ('ENTRYPOINT ["/busybox/sh"]',)
    debug_image = BaseImage(
        ref=debug,
        description=_STANDIN.format(ref=debug)
        + f": {latest} plus Debian's busybox-static as /busybox/* on PATH"
        + ("" if flavour.keeps_entrypoint else ', ENTRYPOINT ["/busybox/sh"]'),
        how=(
            f"docker build FROM the local {latest} stand-in: one COPY of busybox-static's busybox, "
            "apt-get downloaded and dpkg-deb -x'd from Debian bookworm in the same builder stage "
            "as its parent, as /busybox/busybox with a link per applet (busybox --list); "
            "/busybox appended to ENV PATH" + "".join(f"; {line}" for line in entrypoint)
        ),
        dockerfile="\n".join(
            [
                _DISTROLESS_BUILDER,
                f"FROM {latest}",
                "COPY --from=distroless-root /layers/busybox/ /",
                "ENV PATH=$PATH:/busybox",
                *entrypoint,
            ]
        )
        + "\n",
        context_files=_DISTROLESS_FILES,
    )

    def nonroot(of: str, tag: str) -> BaseImage:
        ref = f"{latest}:{tag}"
        return BaseImage(
            ref=ref,
            description=_STANDIN.format(ref=ref)
            + f": {of} running as nonroot ({NONROOT_USER}) in {NONROOT_HOME}",
            how=f"docker build FROM the local {of} stand-in: USER {NONROOT_USER}; WORKDIR {NONROOT_HOME}",
            dockerfile=f"FROM {of}\nUSER {NONROOT_USER}\nWORKDIR {NONROOT_HOME}\n",
        )

    return (image, nonroot(latest, "nonroot"), debug_image, nonroot(debug, "debug-nonroot"))


DISTROLESS_IMAGES: tuple[BaseImage, ...] = tuple(
    image for flavour in _FLAVOURS for image in _distroless_images(flavour)
)


CATALOGUE: tuple[BaseImage, ...] = (
    BaseImage(
        ref="debian:bookworm-slim",
        description=_STANDIN.format(ref="debian:bookworm-slim")
        + ": Debian 12 minimal root, bash, apt, useradd",
        how=(
            "debootstrap --variant=minbase bookworm from this machine's configured Debian archive; "
            "slimmed like the official slim image (docs except copyright, man/info pages, "
            "locales other than C/en, apt lists and caches removed; dpkg path-excludes keep "
            'them out); docker import with PATH, LABELs and CMD ["bash"]'
        ),
        rootfs=True,
    ),
    BaseImage(
        ref="python:3.11-slim",
        description=_STANDIN.format(ref="python:3.11-slim")
        + ": Debian's python3 3.11 with pip and venv, pip install allowed",
        how=_FROM_DEBIAN.format(
            packages="python3 python3-pip python3-venv python-is-python3 ca-certificates", suite=SUITE
        )
        + "; /usr/lib/python3.11/EXTERNALLY-MANAGED removed so pip install works as in the "
        'official image; ENV LANG=C.UTF-8 PYTHON_VERSION; CMD ["python3"]',
        dockerfile=_PYTHON_DOCKERFILE,
    ),
    BaseImage(
        ref="node:18-bookworm-slim",
        description=_STANDIN.format(ref="node:18-bookworm-slim")
        + ": Debian's nodejs 18 and npm, user node (uid/gid 1000, home /home/node)",
        how=_FROM_DEBIAN.format(packages="nodejs npm", suite=SUITE)
        + "; user node 1000:1000 with home /home/node; the official docker-entrypoint.sh; "
        'CMD ["node"]',
        dockerfile=_NODE_DOCKERFILE,
    ),
    BaseImage(
        ref="golang:1.19-bookworm",
        description=_STANDIN.format(ref="golang:1.19-bookworm")
        + ": Debian's Go 1.19 with gcc, make and git, GOPATH=/go",
        how=_FROM_DEBIAN.format(
            packages="golang-1.19-go gcc g++ libc6-dev make pkg-config git ca-certificates "
            "curl wget netbase openssh-client procps",
            suite=SUITE,
        )
        + "; ENV GOPATH=/go PATH=/go/bin:/usr/lib/go-1.19/bin:...; WORKDIR /go",
        dockerfile=_GOLANG_DOCKERFILE,
    ),
    *DISTROLESS_IMAGES,
    BaseImage(
        ref="scratch",
        description="The empty image, provided by the engine itself",
        how="nothing: FROM scratch is built into the engine",
    ),
)


def _quiet(_message: str) -> None:
    return None


def missing(images: Iterable[BaseImage] = CATALOGUE) -> list[str]:
    """Refs of catalogue images the engine does not have (scratch is never missing)."""
    return [image.ref for image in images if not image.is_scratch and not engine.image_exists(image.ref)]


def local_images(refs: Iterable[str]) -> dict[str, LocalImage]:
    """The engine's own image for each allowlisted reference (by normalised name, scratch
    left out), each also tagged with the pinned name a build is given. Raises EngineError when
    one is missing: the platform's fault, the base images need seeding."""
    found: dict[str, LocalImage] = {}
    for ref in refs:
        name = normalize_image(ref)
        if name is None or name == "scratch":
            continue
        attrs = engine.image_attrs(ref)
        if attrs is None:
            raise engine.EngineError(
                f"the allowlisted base image {ref} is not in the engine: run manage.py seed_base_images"
            )
        digests = tuple(str(d).partition("@")[2] for d in attrs.get("RepoDigests") or [])
        platform = "/".join(
            p for p in (attrs.get("Os"), attrs.get("Architecture"), attrs.get("Variant")) if p
        )
        image = LocalImage(name, str(attrs["Id"]), digests, platform or engine.host_platform())
        if alias_of(image) not in (attrs.get("RepoTags") or []):
            engine.image_tag(image.id, alias_of(image))
        found[name] = image
    return found


def seed(
    images: Sequence[BaseImage] = CATALOGUE,
    *,
    progress: Progress = _quiet,
    proxy: str = "",
) -> list[SeedResult]:
    """Makes every image the engine lacks, in the order given; images already present are left
    alone, so running it again changes nothing. Parents must come before their children.
    `proxy` is the package proxy the images' own `apt-get install` goes through."""
    results: list[SeedResult] = []
    made: set[str] = set()
    for image in images:
        if image.is_scratch:
            progress("scratch: provided by the engine, nothing to do")
            results.append(SeedResult(image.ref, "present", 0.0, None, None))
            continue
        attrs = engine.image_attrs(image.ref)
        if attrs is not None:
            progress(f"{image.ref}: present, skipped")
            results.append(_result(image.ref, "present", 0.0, attrs))
            continue
        for parent in image.parents:
            if parent not in made and not engine.image_exists(parent):
                raise CatalogueError(
                    f"{image.ref} is built FROM {parent}, which is not in the engine and was "
                    f"not seeded before it: seed {parent} first (put it earlier in the list)"
                )
        started = time.monotonic()
        if image.rootfs:
            _make_from_rootfs(image, progress)
        else:
            _build(image, progress, proxy)
        seconds = time.monotonic() - started
        attrs = engine.image_attrs(image.ref)
        if attrs is None:
            raise CatalogueError(f"{image.ref} was made but the engine does not list it")
        made.add(image.ref)
        progress(f"{image.ref}: built in {seconds:.0f} s, {_mb(attrs.get('Size'))} MB")
        results.append(_result(image.ref, "built", seconds, attrs))
    return results


def _result(ref: str, outcome: SeedOutcome, seconds: float, attrs: dict[str, object]) -> SeedResult:
    size = attrs.get("Size")
    image_id = attrs.get("Id")
    return SeedResult(
        ref=ref,
        result=outcome,
        seconds=seconds,
        size_bytes=size if isinstance(size, int) else None,
        image_id=image_id if isinstance(image_id, str) else None,
    )


def _mb(size: object) -> str:
    return f"{size / 1e6:.0f}" if isinstance(size, int | float) else "?"


def _build(image: BaseImage, progress: Progress, proxy: str) -> None:
    assert image.dockerfile is not None
    progress(f"{image.ref}: docker build FROM {', '.join(image.parents) or 'scratch'}")
    dockerfile = _with_labels(image.dockerfile, image.labels())
    readable = _BuildLineTrimmer(image.ref)
    args = network.proxy_build_args(proxy) if proxy else None
    files = dict(image.context_files)
    for line in engine.build_trusted(
        dockerfile, image.ref, network="default", build_args=args, context_files=files
    ):
        shown = readable(line)
        if shown is not None:
            progress(shown)


def _with_labels(dockerfile: str, labels: dict[str, str]) -> str:
    """Appends one LABEL instruction to the final stage, so labels always match the entry."""
    return dockerfile.rstrip("\n") + "\n" + _label_instruction(labels) + "\n"


def _label_instruction(labels: dict[str, str]) -> str:
    # json.dumps yields a double-quoted string with backslash escapes, which is what the
    # Dockerfile parser expects inside LABEL values.
    return "LABEL " + " ".join(f"{key}={json.dumps(value)}" for key, value in labels.items())


_STEP_RE = re.compile(r"^#(?P<n>\d+) (?P<rest>.*)$")
_OUTPUT_RE = re.compile(r"^\d+\.\d+ (?P<text>.*)$")
_APT_NOISE = re.compile(
    r"^(Get:\d+|Hit:\d+|Ign:\d+|Selecting previously unselected|Preparing to unpack|Unpacking |"
    r"Setting up |Processing triggers|\(Reading database|Reading package lists|"
    r"Building dependency tree|Reading state information|debconf: |The following |"
    r"Suggested packages:|Recommended packages:|Need to get|After this operation|"
    r"update-alternatives: |Creating config file|Adding |Created symlink|\s)"
)


class _BuildLineTrimmer:
    """Turns BuildKit's plain progress into a few readable lines: step headers, their
    durations, errors, shell traces and non-apt output, each cut to one screen line."""

    width = 110

    def __init__(self, ref: str) -> None:
        self.ref = ref
        self.steps: dict[str, str] = {}

    def __call__(self, line: str) -> str | None:
        match = _STEP_RE.match(line.strip())
        if match is None:
            return None
        n, rest = match.group("n"), match.group("rest")
        if rest.startswith("["):
            self.steps[n] = rest
            if rest.startswith("[internal]") or "load metadata" in rest:
                return None
            return self._cut(rest)
        if rest.startswith("DONE ") and n in self.steps and not self.steps[n].startswith("[int"):
            if rest == "DONE 0.0s":
                return None
            return self._cut(f"  {rest.lower()}")
        if rest.startswith(("ERROR", "CANCELED", "CACHED")):
            return self._cut(f"  {rest}")
        output = _OUTPUT_RE.match(rest)
        if output is None:
            return None
        text = output.group("text")
        if not text or _APT_NOISE.match(text):
            return None
        return self._cut(f"  {text}")

    def _cut(self, text: str) -> str:
        text = f"{self.ref}: {text}"
        return text if len(text) <= self.width else text[: self.width - 1] + "…"


def _make_from_rootfs(image: BaseImage, progress: Progress) -> None:
    if os.geteuid() != 0:
        raise CatalogueError(
            f"{image.ref}: debootstrap needs root (it creates device nodes and chroots); "
            "run the seeding as root, or make the image on a machine where you are root"
        )
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise CatalogueError(f"{image.ref}: debootstrap is not installed (apt-get install debootstrap)")
    mirror = bookworm_mirror()
    work = Path(tempfile.mkdtemp(prefix="layerlab-debootstrap-", dir=tempfile.gettempdir()))
    try:
        root = work / "rootfs"
        root.mkdir(mode=0o755)
        root.chmod(0o755)
        argv = [debootstrap, "--variant=minbase", SUITE, str(root)]
        if mirror:
            argv.append(mirror)
        progress(
            f"{image.ref}: debootstrap --variant=minbase {SUITE} from "
            f"{mirror or 'debootstrap default mirror'} (about 30 s)…"
        )
        _run_debootstrap(argv, root, image.ref, progress)
        progress(f"{image.ref}: slimming like the official slim image")
        _slim(root)
        made_by = image.how + f" (archive: {mirror or 'debootstrap default'})"
        changes = [
            f"ENV PATH={DEFAULT_PATH}",
            _label_instruction(image.labels(made_by)),
            'CMD ["bash"]',
        ]
        progress(f"{image.ref}: docker import")
        engine.import_rootfs(root, image.ref, changes=changes)
    finally:
        _unmount_below(work)
        shutil.rmtree(work, ignore_errors=True)


def _run_debootstrap(argv: list[str], root: Path, ref: str, progress: Progress) -> None:
    per_package = re.compile(r"^I: (Retrieving|Validating|Extracting|Unpacking|Configuring) \S+( \S+)?$")
    tail: list[str] = []
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True
    )
    assert proc.stdout is not None
    for raw in proc.stdout:
        line = raw.rstrip("\n")
        tail = [*tail[-30:], line]
        if line.startswith(("I: ", "W: ", "E: ")) and not per_package.match(line):
            progress(f"{ref}:   {line}")
    if proc.wait() != 0:
        log = root / "debootstrap" / "debootstrap.log"
        detail = log.read_text(errors="replace").splitlines()[-20:] if log.exists() else tail
        raise CatalogueError(f"{ref}: debootstrap failed ({proc.returncode}):\n" + "\n".join(detail))


_DPKG_EXCLUDES = """\
# The "slim" variant, like the official Debian slim images: files normally unnecessary in
# containers are excluded, and this keeps them out of later installs too.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-include /usr/share/locale/en/*
path-include /usr/share/locale/en_*/*
path-exclude /usr/share/man/*
"""

_APT_CLEAN = """\
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
"""  # noqa: E501

_ROOTFS_FILES: dict[str, tuple[str, int]] = {
    "etc/dpkg/dpkg.cfg.d/docker": (_DPKG_EXCLUDES, 0o644),
    "etc/dpkg/dpkg.cfg.d/docker-apt-speedup": ("force-unsafe-io\n", 0o644),
    "etc/apt/apt.conf.d/docker-clean": (_APT_CLEAN, 0o644),
    "etc/apt/apt.conf.d/docker-no-languages": ('Acquire::Languages "none";\n', 0o644),
    "etc/apt/apt.conf.d/docker-autoremove-suggests": (
        'Apt::AutoRemove::SuggestsImportant "false";\n',
        0o644,
    ),
    "usr/sbin/policy-rc.d": ("#!/bin/sh\nexit 101\n", 0o755),
}


def _slim(root: Path) -> None:
    """What debuerreotype does to make the official slim image, on a debootstrap root."""
    doc = root / "usr/share/doc"
    if doc.is_dir():
        for package in doc.iterdir():
            if package.is_dir() and not package.is_symlink():
                for entry in package.iterdir():
                    if entry.name != "copyright":
                        _remove(entry)
            else:
                _remove(package)
    for sub in ("man", "info", "groff", "linda", "lintian/overrides"):
        _empty(root / "usr/share" / sub)
    locale = root / "usr/share/locale"
    if locale.is_dir():
        for entry in locale.iterdir():
            if entry.name == "locale.alias" or entry.name == "en" or entry.name.startswith("en_"):
                continue
            _remove(entry)
    for sub in ("var/lib/apt/lists", "var/cache/apt", "var/cache/debconf", "var/log", "dev", "tmp"):
        _empty(root / sub)
    (root / "var/lib/apt/lists/partial").mkdir(parents=True, exist_ok=True)
    (root / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
    for rel in ("etc/resolv.conf", "etc/hostname"):
        path = root / rel
        if path.is_file() and not path.is_symlink():
            path.write_text("")
    (root / "tmp").chmod(0o1777)
    _trust_host_cas(root)
    for rel, (text, mode) in _ROOTFS_FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)


def _trust_host_cas(root: Path, source: Path = HOST_EXTRA_CAS) -> None:
    """Copies the certificate authorities this host adds to its trust store into the stand-in, so
    that once an image installs ca-certificates its TLS trust matches the host's. Machines whose
    egress goes through a TLS-inspecting gateway need that for pip and npm through the package
    proxy; the official images on an open network do not, and get nothing here."""
    if not source.is_dir():
        return
    target = root / "usr/local/share/ca-certificates"
    for cert in sorted(source.glob("*.crt")):
        if cert.is_file():
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cert, target / cert.name)
            (target / cert.name).chmod(0o644)


def _empty(directory: Path) -> None:
    if directory.is_dir() and not directory.is_symlink():
        for entry in directory.iterdir():
            _remove(entry)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _mount_points() -> Iterator[str]:
    with open("/proc/self/mountinfo", encoding="utf-8") as mounts:
        for line in mounts:
            fields = line.split()
            if len(fields) > 4:
                yield re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])


def _unmount_below(directory: Path) -> None:
    """debootstrap mounts /proc and /sys inside the target; a failed run can leave them mounted,
    and removing the tree must never descend into them."""
    prefix = str(directory.resolve()) + "/"
    for point in sorted((p for p in _mount_points() if p.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], check=False, capture_output=True)


_ONE_LINE_RE = re.compile(r"^\s*deb\s+(?:\[[^\]]*\]\s+)?(?P<uri>\S+)\s+(?P<suite>\S+)(?P<comps>.*)$")


def bookworm_mirror(
    sources_list: Path = Path("/etc/apt/sources.list"),
    sources_dir: Path = Path("/etc/apt/sources.list.d"),
) -> str | None:
    """The Debian archive this machine's apt sources use for bookworm `main`, in apt's own
    reading order (sources.list, then sources.list.d sorted); None means debootstrap's
    default."""
    files: list[Path] = [sources_list]
    if sources_dir.is_dir():
        files += sorted(p for p in sources_dir.iterdir() if p.suffix in (".list", ".sources"))
    for path in files:
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        uri = _from_deb822(text) if path.suffix == ".sources" else _from_one_line(text)
        if uri:
            return uri
    return None


def _usable(uri: str) -> bool:
    return uri.startswith(("http://", "https://", "file:/"))


def _from_one_line(text: str) -> str | None:
    for line in text.splitlines():
        match = _ONE_LINE_RE.match(line.split("#", 1)[0])
        if match is None or match.group("suite") != SUITE:
            continue
        comps = match.group("comps").split()
        if (not comps or "main" in comps) and _usable(match.group("uri")):
            return match.group("uri")
    return None


def _deb822_stanzas(text: str) -> Iterator[dict[str, str]]:
    stanza: dict[str, str] = {}
    key: str | None = None
    for line in [*text.splitlines(), ""]:
        if line.startswith("#"):
            continue
        if not line.strip():
            if stanza:
                yield stanza
            stanza, key = {}, None
        elif line[0] in " \t":
            if key is not None:
                stanza[key] += "\n" + line.strip()
        elif ":" in line:
            name, value = line.split(":", 1)
            key = name.strip().lower()
            stanza[key] = value.strip()


def _from_deb822(text: str) -> str | None:
    for stanza in _deb822_stanzas(text):
        if stanza.get("enabled", "yes").lower() == "no":
            continue
        if "deb" not in stanza.get("types", "").split():
            continue
        if SUITE not in stanza.get("suites", "").split():
            continue
        components = stanza.get("components", "").split()
        if components and "main" not in components:
            continue
        for uri in stanza.get("uris", "").split():
            if _usable(uri):
                return uri
    return None
