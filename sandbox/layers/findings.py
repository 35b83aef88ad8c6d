"""What should not be in an image: secret files, setuid and setgid files, build tools, package
manager caches, files a missing .dockerignore let in, and users with an empty password. Every
layer is looked at, where dockle looks only at the merged filesystem: a key added in one layer
and deleted in the next is still in the image for anyone who pulls it. Files are judged by
name, never by contents (but for the empty password fields of /etc/shadow).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sandbox.layers.report import BuildTool, EmptyPassword, PackageCache, SecretFile, SetuidFile, StrayFile
from sandbox.layers.summary import (
    _WH,
    DIR,
    FILE,
    HARDLINK,
    OPAQUE,
    OTHER,
    SYMLINK,
    WHITEOUT,
    Entry,
    LayerSummary,
)

HEADER_THRESHOLD = 50
"""More C headers than this means -dev packages (libc6-dev alone brings hundreds)."""


_SECRET_NAMES = {
    "id_rsa": "SSH private key",
    "id_dsa": "SSH private key",
    "id_ecdsa": "SSH private key",
    "id_ed25519": "SSH private key",
    "id_ecdsa_sk": "SSH private key",
    "id_ed25519_sk": "SSH private key",
    ".env": "environment file",
    "credentials.json": "credentials file",
    ".git-credentials": "git credentials",
    ".netrc": "netrc credentials",
    ".pgpass": "PostgreSQL password file",
    "kubeconfig": "Kubernetes credentials",
    ".pypirc": "PyPI credentials",
    ".dockercfg": "registry credentials",
}
_SECRET_SUFFIXES = {
    ".pem": "PEM key or certificate",
    ".key": "private key",
    ".p12": "PKCS#12 key store",
    ".pfx": "PKCS#12 key store",
}
_SECRET_TAILS = {
    "/.aws/credentials": "AWS credentials",
    "/.kube/config": "Kubernetes credentials",
    "/.docker/config.json": "registry credentials",
}
_SUFFIX_KEYS = tuple(_SECRET_SUFFIXES)
_TAIL_KEYS = tuple(_SECRET_TAILS)
_ENV_TEMPLATES = (".example", ".sample", ".template", ".dist", ".defaults", ".tmpl")
_SECRET_SAFE_PREFIXES = (
    "/etc/ssl/certs/",
    "/usr/share/ca-certificates/",
    "/usr/local/share/ca-certificates/",
    "/etc/ca-certificates/",
    "/etc/pki/",
    "/usr/lib/ssl/certs/",
    "/usr/share/doc/",
)
_TEST_DIRS = {"test", "tests", "testdata", "test_data", "testing", "fixtures", "unittest"}
_CA_BUNDLES = {"cacert.pem", "ca-bundle.pem", "ca-certificates.pem", "cert.pem"}


def _secret_reason(path: str, base: str) -> str:
    """Names only: contents are never read. Public material that ships with every distro (CA
    bundles, test fixtures of installed languages) is not a secret and must not drown the
    student's own `COPY id_rsa .` in noise."""
    if not (
        base in _SECRET_NAMES
        or base.endswith(_SUFFIX_KEYS)
        or base.startswith(".env.")
        or path.endswith(_TAIL_KEYS)
    ):
        return ""
    reason = _SECRET_NAMES.get(base, "")
    if not reason and base.startswith(".env.") and not base.endswith(_ENV_TEMPLATES):
        reason = "environment file"
    if not reason and base.endswith(_SUFFIX_KEYS):
        suffix = base[base.rfind(".") :]
        reason = _SECRET_SUFFIXES.get(suffix, "") if len(base) > len(suffix) else ""
    if not reason and path.endswith(_TAIL_KEYS):
        reason = next(why for tail, why in _SECRET_TAILS.items() if path.endswith(tail))
    if not reason or path.startswith(_SECRET_SAFE_PREFIXES):
        return ""
    parts = path.split("/")
    if base in _CA_BUNDLES or "certifi" in parts:
        return ""  # public CA bundles, wherever a package manager put them (a venv, node_modules)
    installed = path.startswith("/usr/") or "site-packages" in parts or "node_modules" in parts
    if installed and _TEST_DIRS.intersection(parts):
        return ""
    return reason


_COMPILER = re.compile(
    r"^(?:[a-z0-9_]+-linux-gnu[a-z]*-)?"
    r"(?P<tool>gcc|g\+\+|c\+\+|cc|clang|clang\+\+|gfortran|ld|ld\.bfd|ld\.gold|ld\.lld)"
    r"(?:-\d+(?:\.\d+)*)?$"
)
_BUILD_BINARIES = {
    "make": "make",
    "gmake": "make",
    "cmake": "cmake",
    "ninja": "ninja",
    "rustc": "rustc",
    "cargo": "cargo",
}
_COMPILER_PASSES = {"cc1", "cc1plus", "cc1obj"}
_TOOL_HINTS = _COMPILER_PASSES
_INCLUDE_DIRS = ("/usr/include/", "/usr/local/include/")
_NPM_NOT_CACHE = ("/root/.npm/_logs/", "/root/.npm/_update-notifier-last-checked")
_PACKAGED_TREES = ("/usr/share/", "/usr/lib/", "/usr/local/lib/", "/usr/local/go/", "/usr/include/")
_DEPENDENCY_DIRS = ("/node_modules/", "/site-packages/", "/dist-packages/", "/vendor/")
_APT_LISTS = "/var/lib/apt/lists/"
_CACHE_PREFIXES = (_APT_LISTS, "/var/cache/", "/root/.npm/")


def _build_tool(parent: str, base: str, kind: str) -> str:
    if base in _COMPILER_PASSES:
        return base if kind in (FILE, HARDLINK) else ""
    if not parent.endswith("/bin") or kind not in (FILE, HARDLINK, SYMLINK):
        return ""
    if base in _BUILD_BINARIES:
        return _BUILD_BINARIES[base]
    if base == "go" and kind != SYMLINK:
        return "go?"  # a toolchain only with its GOROOT's pkg/tool next to it
    m = _COMPILER.match(base)
    if m:
        tool = m.group("tool")
        return "ld" if tool.startswith("ld") else tool
    return ""


def _package_cache(path: str, entry: Entry) -> str:
    """'name root' of the package manager cache a file belongs to, or ''."""
    if not path.startswith(_CACHE_PREFIXES) and "/.cache/" not in path and "/.npm/" not in path:
        return ""
    if path.startswith(_APT_LISTS):
        rest = path[len(_APT_LISTS) :]
        if rest == "lock" or (rest.startswith("partial/") and entry.size == 0):
            return ""
        return "apt-lists /var/lib/apt/lists"
    if path.startswith("/var/cache/apt/archives/") and path.endswith(".deb"):
        return "apt-archives /var/cache/apt/archives"
    if path.startswith("/var/cache/apk/"):
        return "apk /var/cache/apk"
    if path.startswith("/root/.npm/") and not path.startswith(_NPM_NOT_CACHE):
        return "npm /root/.npm"
    for marker, name in (("/.cache/pip/", "pip"), ("/.npm/_cacache/", "npm"), ("/.cache/yarn/", "yarn")):
        at = path.find(marker)
        if at >= 0:
            return f"{name} {path[: at + len(marker) - 1]}"
    return ""


_STRAY_NAMES = {"Dockerfile": "dockerfile", "Containerfile": "dockerfile", ".DS_Store": "ds_store"}
_STRAY_NAMES[".dockerignore"] = "dockerignore"


def _stray(path: str, base: str, kind: str) -> tuple[str, str] | None:
    """What a missing .dockerignore lets in. Files that packages and dependencies install
    (the Go source tree has Dockerfiles of its own) are not the student's build context."""
    found: tuple[str, str] | None = None
    if base == ".git" and kind == DIR:
        found = "git", path
    elif "/.git/" in path:
        found = "git", path[: path.find("/.git/") + 5]
    elif kind in (FILE, HARDLINK, SYMLINK):
        if base in _STRAY_NAMES:
            found = _STRAY_NAMES[base], path
        elif base.startswith("Dockerfile."):
            found = "dockerfile", path
    if found is None or path.startswith(_PACKAGED_TREES) or any(d in path for d in _DEPENDENCY_DIRS):
        return None
    return found


class _Notable(NamedTuple):
    entry: Entry
    category: str
    detail: str


def _notable(entries: Iterable[Entry]) -> tuple[_Notable, ...]:
    """The entries of one layer that some finding is about, if they survive to the final
    filesystem (secrets count even if they do not). Computed once per layer, ever."""
    found: list[_Notable] = []
    for entry in entries:
        kind = entry.kind
        if kind in (WHITEOUT, OPAQUE):
            continue
        path = entry.path
        parent, _, base = path.rpartition("/")
        regular = kind in (FILE, HARDLINK)
        if regular:
            reason = _secret_reason(path, base)
            if reason:
                found.append(_Notable(entry, "secret", reason))
            if entry.mode & 0o6000:
                found.append(_Notable(entry, "setuid", ""))
            cache = _package_cache(path, entry)
            if cache:
                found.append(_Notable(entry, "cache", cache))
        tool = _build_tool(parent, base, kind) if base in _TOOL_HINTS or parent.endswith("/bin") else ""
        if tool:
            found.append(_Notable(entry, "tool", tool))
        if base.endswith(".h") and path.startswith(_INCLUDE_DIRS) and "/python3" not in path:
            found.append(
                _Notable(entry, "header", "/usr/include" if path[5] == "i" else "/usr/local/include")
            )
        stray = _stray(path, base, kind)
        if stray:
            found.append(_Notable(entry, "stray", f"{stray[0]} {stray[1]}"))
        if path == "/etc/shadow" and kind == FILE:
            found.append(_Notable(entry, "shadow", ""))
    return tuple(found)


class _Changes(NamedTuple):
    """What one layer does to the layers below it."""

    paths: frozenset[str]
    gone: frozenset[str]
    masked: frozenset[str]


def _changes(entries: Iterable[Entry]) -> _Changes:
    paths, gone, masked = set(), set(), set()
    for entry in entries:
        if entry.kind == WHITEOUT:
            gone.add(entry.path)
        elif entry.kind == OPAQUE:
            masked.add(entry.path)
        elif entry.kind != OTHER or not entry.path.rpartition("/")[2].startswith(_WH):
            paths.add(entry.path)
            if entry.kind != DIR:
                masked.add(entry.path)  # a file where a directory was hides what was below
    return _Changes(frozenset(paths), frozenset(gone), frozenset(masked))


class _Above:
    """Whether an entry of one layer is deleted or replaced by the layers above it: a whiteout
    of it or an ancestor, an opaque ancestor, or something else where an ancestor directory
    was. Ancestors are memoised; a layer's entries come grouped by directory."""

    def __init__(self, layers: Sequence[LayerSummary], index: int) -> None:
        self._upper = [layer.view(_changes) for layer in layers[index + 1 :]]
        self._memo: dict[str, bool] = {"": False}

    def deleted(self, path: str) -> bool:
        return any(path in c.gone for c in self._upper) or self._hidden_dir(path.rpartition("/")[0])

    def final(self, path: str) -> bool:
        if any(path in c.paths or path in c.gone for c in self._upper):
            return False
        return not self._hidden_dir(path.rpartition("/")[0])

    def _hidden_dir(self, directory: str) -> bool:
        chain: list[str] = []
        known = self._memo.get(directory)
        while known is None:
            chain.append(directory)
            if any(directory in c.gone or directory in c.masked for c in self._upper):
                known = True
            else:
                directory = directory.rpartition("/")[0]
                known = self._memo.get(directory)
        for d in chain:
            self._memo[d] = known
        return known


@dataclass(frozen=True)
class _Findings:
    secret_files: tuple[SecretFile, ...]
    setuid_files: tuple[SetuidFile, ...]
    build_tools: tuple[BuildTool, ...]
    package_caches: tuple[PackageCache, ...]
    stray_files: tuple[StrayFile, ...]
    empty_passwords: tuple[EmptyPassword, ...]


def _findings(layers: Sequence[LayerSummary]) -> _Findings:
    secrets: list[SecretFile] = []
    setuid: list[SetuidFile] = []
    tools: list[BuildTool] = []
    go: list[tuple[str, int]] = []
    headers: dict[str, list[int]] = {}
    caches: dict[str, list[Any]] = {}
    stray: dict[str, StrayFile] = {}
    shadow: tuple[str, ...] | None = None
    shadow_layer = -1
    for index, layer in enumerate(layers):
        notable = layer.view(_notable)
        if not notable:
            continue
        above = _Above(layers, index)
        for entry, category, detail in notable:
            if category == "secret":
                secrets.append(
                    SecretFile(
                        entry.path,
                        index,
                        entry.size,
                        detail,
                        above.deleted(entry.path),
                        above.final(entry.path),
                    )
                )
                continue
            if not above.final(entry.path):
                continue
            if category == "setuid":
                mode = entry.mode
                setuid.append(
                    SetuidFile(
                        entry.path, f"{mode:04o}", index, bool(mode & 0o4000), bool(mode & 0o2000), entry.uid
                    )
                )
            elif category == "tool" and detail == "go?":
                go.append((entry.path, index))
            elif category == "tool":
                tools.append(BuildTool(detail, entry.path, index))
            elif category == "header":
                slot = headers.setdefault(detail, [0, 0])
                slot[0] += 1
                slot[1] = max(slot[1], index)
            elif category == "cache":
                slot2 = caches.setdefault(detail, [0, 0, set()])
                slot2[0] += entry.size
                slot2[1] += 1
                slot2[2].add(index)
            elif category == "stray":
                kind, _, path = detail.partition(" ")
                stray[path] = StrayFile(kind, path, max(index, stray[path].layer) if path in stray else index)
            elif category == "shadow":
                shadow, shadow_layer = layer.shadow_empty, index
    for path, index in go:
        goroot = path[: -len("/bin/go")]
        if _has_final(layers, goroot + "/pkg/tool"):
            tools.append(BuildTool("go", path, index))
    for root, (count, index) in sorted(headers.items()):
        if count > HEADER_THRESHOLD:
            tools.append(BuildTool("headers", root, index, count))
    return _Findings(
        secret_files=tuple(sorted(secrets, key=lambda s: (s.layer, s.path))),
        setuid_files=tuple(sorted(setuid, key=lambda s: s.path)),
        build_tools=tuple(sorted(tools, key=lambda t: (t.tool, t.path))),
        package_caches=tuple(
            PackageCache(name, root, size, files, tuple(sorted(layer_set)))
            for (name, root), (size, files, layer_set) in sorted(
                (tuple(key.split(" ", 1)), value) for key, value in caches.items()
            )
        ),
        stray_files=tuple(sorted(stray.values(), key=lambda s: s.path)),
        empty_passwords=tuple(EmptyPassword(user, shadow_layer) for user in shadow or ()),
    )


def _has_final(layers: Sequence[LayerSummary], directory: str) -> bool:
    """Whether anything at or under `directory` is in the final filesystem."""
    prefix = directory + "/"
    for index in range(len(layers) - 1, -1, -1):
        above = _Above(layers, index)
        if any(
            (e.path == directory or e.path.startswith(prefix))
            and e.kind not in (WHITEOUT, OPAQUE)
            and above.final(e.path)
            for e in layers[index].entries
        ):
            return True
    return False
