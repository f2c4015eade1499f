"""Saving and loading the model artifact: a joblib pickle plus a manifest that vouches for it.

A pickle runs code when loaded, so the artifact is verified against the manifest (sha256, library versions)
before it is unpickled; anything amiss refuses to load with a message saying how to rebuild.
"""

from __future__ import annotations

import hashlib
import json
import platform
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import joblib

ARTIFACT_DIR = Path(__file__).resolve().parent / "artifacts"
REBUILD_HINT = "rebuild it with `redflag train` (artifacts are only trusted when this project built them)"


class ArtifactError(RuntimeError):
    """The artifact is missing, damaged, or was built for other library versions."""


def library_versions() -> dict[str, str]:
    """Versions of the libraries an artifact depends on (read from package metadata: importing scikit-learn only
    to ask its version would cost a second of start-up)."""
    return {"python": platform.python_version(), **{name: metadata.version(name) for name in _LIBRARIES}}


_LIBRARIES = ("scikit-learn", "numpy", "scipy", "jieba", "joblib")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def manifest_path(artifact: Path) -> Path:
    return artifact.with_name(artifact.name.removesuffix(".joblib") + ".manifest.json")


def save(bundle: object, manifest: dict[str, Any], directory: Path = ARTIFACT_DIR) -> Path:
    """Write redflag-<version>.joblib and its manifest (with sha256 and versions); return the artifact path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"redflag-{manifest['version']}.joblib"
    tmp = path.with_suffix(".joblib.tmp")
    joblib.dump(bundle, tmp, compress=3)
    tmp.replace(path)
    manifest = {**manifest, "artifact": path.name, "sha256": sha256_file(path), "versions": library_versions()}
    mpath = manifest_path(path)
    mpath.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def newest_artifact(directory: Path = ARTIFACT_DIR) -> Path | None:
    """The most recently written artifact in `directory` that has a manifest, or None."""
    found = [p for p in directory.glob("redflag-*.joblib") if manifest_path(p).exists()]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def read_manifest(path: Path) -> dict[str, Any]:
    mpath = manifest_path(path)
    if not mpath.exists():
        raise ArtifactError(f"no manifest beside {path} (expected {mpath.name}); {REBUILD_HINT}")
    try:
        return json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ArtifactError(f"manifest {mpath} is unreadable ({e}); {REBUILD_HINT}") from e


def verify(path: Path) -> dict[str, Any]:
    """Check the artifact against its manifest without unpickling it; return the manifest."""
    if not path.exists():
        raise ArtifactError(f"model artifact {path} does not exist; {REBUILD_HINT}")
    manifest = read_manifest(path)
    digest = sha256_file(path)
    if digest != manifest.get("sha256"):
        raise ArtifactError(
            f"artifact {path.name} does not match its manifest (sha256 {digest[:12]}… != {str(manifest.get('sha256'))[:12]}…): "
            f"it is truncated, corrupted or was replaced; {REBUILD_HINT}"
        )
    want, have = manifest.get("versions", {}), library_versions()
    diffs = [
        f"{k} {want.get(k)} (artifact) vs {have[k]} (installed)"
        for k in have
        if k != "joblib" and want.get(k) != have[k]
    ]
    if diffs:
        raise ArtifactError(
            f"artifact {path.name} was built with other library versions: {'; '.join(diffs)}; {REBUILD_HINT}"
        )
    return manifest


def load(path: Path) -> tuple[Any, dict[str, Any]]:
    """Verify, then unpickle with scikit-learn's version warnings raised as errors."""
    manifest = verify(path)
    with warnings.catch_warnings():
        # scikit-learn's InconsistentVersionWarning (an estimator pickled by another version), matched by message so
        # that loading does not import scikit-learn: the scoring bundle holds none of its objects, but be strict
        warnings.filterwarnings("error", message=r"Trying to unpickle estimator")
        try:
            bundle = joblib.load(path)
        except UserWarning as e:
            raise ArtifactError(f"artifact {path.name}: {e}; {REBUILD_HINT}") from e
        except Exception as e:  # a verified file that still fails to unpickle is as unusable as a missing one
            raise ArtifactError(
                f"artifact {path.name} could not be loaded ({type(e).__name__}: {e}); {REBUILD_HINT}"
            ) from e
    return bundle, manifest
