#!/usr/bin/python3 -IS
"""The `runc` dockerd's BuildKit finds first on its PATH (bin/host-setup installs this file as
`$LAYERLAB_STATE_DIR/bin/runc`). It changes nothing for anything but a build step that carries a
Layerlab build token in its environment (see sandbox/cgroups.py) and whose build has a cgroup:
such a step is moved into that build's cgroup, and the directory its writes land in is recorded
for the worker's disk watch. Then the real runc runs with the same arguments.

Standalone on purpose: dockerd runs it with the system Python, outside the project's venv, and
it must never stop a container from starting. Anything unexpected leaves the step as it was.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys

CGROUP_ROOT = "/sys/fs/cgroup"
RUN_DIR = os.environ.get("LAYERLAB_RUN_DIR", "/run/layerlab/builds")
TOKEN_ENV = re.compile(r"^ftp_proxy=http://build-([0-9a-f]{32})\.layerlab\.invalid$")
STEP_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


def real_runc() -> str:
    here = os.path.dirname(os.path.realpath(__file__))
    path = os.pathsep.join(
        d for d in os.environ.get("PATH", "").split(os.pathsep) if d and os.path.realpath(d) != here
    )
    found = shutil.which("runc", path=path)
    if found and os.path.realpath(found) != os.path.realpath(__file__):
        return found
    for candidate in ("/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc"):
        if os.access(candidate, os.X_OK):
            return candidate
    sys.stderr.write("layerlab runc wrapper: no real runc found\n")
    sys.exit(127)


def bundle_of(argv: list[str]) -> str | None:
    if not {"run", "create"} & set(argv):
        return None
    for i, arg in enumerate(argv):
        if arg in ("--bundle", "-b") and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--bundle="):
            return arg.split("=", 1)[1]
    return None


def build_dir(parent: str, token: str) -> str:
    if os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers")):
        return os.path.join(CGROUP_ROOT, parent, f"b-{token}")
    return os.path.join(CGROUP_ROOT, "pids", parent, f"b-{token}")


def upper_dir(mountpoint: str) -> str:
    """The overlay upper directory of the step's root (where its writes land), from the mount
    table BuildKit mounted it in before calling runc."""
    with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as table:
        for line in table:
            fields = line.split()
            if len(fields) > 4 and fields[4] == mountpoint and " - overlay " in line:
                for option in line.rsplit(" ", 1)[-1].split(","):
                    if option.startswith("upperdir="):
                        return option[len("upperdir=") :]
    return mountpoint


def adjust(bundle: str) -> None:
    path = os.path.join(bundle, "config.json")
    with open(path, encoding="utf-8") as f:
        config = json.load(f)
    env = (config.get("process") or {}).get("env") or []
    linux = config.get("linux") or {}
    cgroups_path = str(linux.get("cgroupsPath") or "")
    parts = cgroups_path.strip("/").split("/")
    if len(parts) < 3 or parts[-2] != "buildkit" or not STEP_ID.match(parts[-1]):
        return
    parent, step = "/".join(parts[:-2]), parts[-1]
    tokens = [m.group(1) for m in (TOKEN_ENV.match(str(e)) for e in env) if m]
    token = next((t for t in tokens if os.path.isdir(build_dir(parent, t))), None)
    if token is None:
        return
    steps = os.path.join(RUN_DIR, token)
    if os.path.isdir(steps):
        root = str((config.get("root") or {}).get("path") or "")
        with open(os.path.join(steps, step), "w", encoding="utf-8") as f:
            f.write(upper_dir(root) if root else "")
    linux["cgroupsPath"] = f"/{parent}/b-{token}/{step}"
    tmp = path + ".layerlab"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(config, f)
    os.replace(tmp, path)


def main() -> None:
    argv = sys.argv[1:]
    bundle = bundle_of(argv)
    if bundle is not None:
        try:
            adjust(bundle)
        except Exception as exc:  # never stop a container from starting
            sys.stderr.write(f"layerlab runc wrapper: left the step as it was: {exc}\n")
    real = real_runc()
    os.execv(real, [real, *argv])  # noqa: S606 (runc itself, with the arguments dockerd gave)


if __name__ == "__main__":
    main()
