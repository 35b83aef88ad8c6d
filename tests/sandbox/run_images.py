"""What the sandbox.run tests share: the images they start from and one way to build an image
of their own, labelled so that nothing is left behind."""

from __future__ import annotations

import os
import subprocess
import tempfile
import uuid
from pathlib import Path

from sandbox import engine

DEBIAN = "debian:bookworm-slim"
PYTHON = "python:3.11-slim"
GOLANG = "golang:1.19-bookworm"
TEST_LABEL = "test-run"


def build(tag: str, files: dict[str, str], target: str | None = None) -> str:
    with tempfile.TemporaryDirectory(prefix="layerlab-test-run-") as tmp:
        for name, text in files.items():
            (Path(tmp) / name).write_text(text, encoding="utf-8")
        argv = ["/usr/bin/docker", "build", "--network=none", "-t", tag]
        argv += ["--label", f"{engine.LABEL_SUBMISSION}={TEST_LABEL}"]
        if target:
            argv += ["--target", target]
        done = subprocess.run(
            [*argv, tmp],
            env={**os.environ, "DOCKER_BUILDKIT": "1"},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    return tag


def tag(name: str) -> str:
    return f"layerlab-test/run-{name}:{uuid.uuid4().hex[:8]}"


HELLO_GO = """package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Printf("uid=%d gid=%d\\n", os.Getuid(), os.Getgid())
}
"""
