"""Building the bundled model when no artifact exists, once, even with several workers starting together."""

from __future__ import annotations

import fcntl
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from model import artifact


def train_if_missing(log: Callable[[str], None] = print, directory: Path = artifact.ARTIFACT_DIR) -> Path:
    """Run `redflag train` in a subprocess under a file lock unless an artifact appeared meanwhile."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".train.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = artifact.newest_artifact(directory)
        if found is not None:
            return found
        log("no model artifact found: training one from the bundled corpus")
        proc = subprocess.run(
            [sys.executable, "-m", "service.cli", "train", "--out-dir", str(directory)],
            capture_output=True,
            text=True,
            check=False,
        )
        for line in proc.stderr.splitlines():
            log(f"  train: {line}")
        if proc.returncode != 0:
            raise artifact.ArtifactError(f"training the bundled model failed (exit {proc.returncode})")
        found = artifact.newest_artifact(directory)
        if found is None:
            raise artifact.ArtifactError("training finished but wrote no artifact")
        return found
