"""What network a build gets. `none` (the default) cuts RUN steps off; `packages` puts them on
the engine's default bridge, where the host's egress rules drop everything but the allowlisting
proxy (bin/host-setup), and hands the proxy to the build as Docker's predefined proxy build
arguments, which BuildKit keeps out of the image's history."""

from __future__ import annotations

from dataclasses import dataclass, field

NONE = "none"
PACKAGES = "packages"
MODES = (NONE, PACKAGES)

PROXY_ARGS = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")


class NetworkUnavailable(RuntimeError):
    """The exercise needs the package proxy and this host has none configured (our fault)."""


@dataclass(frozen=True)
class BuildNetwork:
    mode: str = NONE  # what the build engine is given: "none" or "default"
    build_args: dict[str, str] = field(default_factory=dict)


def proxy_build_args(proxy: str) -> dict[str, str]:
    return {name: proxy for name in PROXY_ARGS} | {"no_proxy": "", "NO_PROXY": ""}


def build_network(mode: str, proxy: str) -> BuildNetwork:
    if mode == NONE:
        return BuildNetwork()
    if mode != PACKAGES:
        raise ValueError(f"unknown network mode {mode!r} (one of: {', '.join(MODES)})")
    if not proxy:
        raise NetworkUnavailable(
            "this exercise downloads packages, but no package proxy is configured on the build host "
            "(LAYERLAB_PACKAGE_PROXY)"
        )
    return BuildNetwork(mode="default", build_args=proxy_build_args(proxy))
