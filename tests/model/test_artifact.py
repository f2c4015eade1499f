from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from model import artifact
from model.artifact import ArtifactError
from model.scorer import Scorer


@pytest.fixture()
def copy(artifact_path: Path, tmp_path: Path) -> Path:
    dst = tmp_path / artifact_path.name
    shutil.copy(artifact_path, dst)
    shutil.copy(artifact.manifest_path(artifact_path), artifact.manifest_path(dst))
    return dst


def test_intact_artifact_loads(copy: Path) -> None:
    assert Scorer.load(copy).score(["测试"])[0].model_version


def test_missing_file_refuses_with_rebuild_hint(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="redflag train"):
        Scorer.load(tmp_path / "redflag-x.joblib")


def test_truncated_file_refuses_before_unpickling(copy: Path) -> None:
    data = copy.read_bytes()
    copy.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match="sha256"):
        Scorer.load(copy)


def test_garbage_bytes_refuse(copy: Path) -> None:
    copy.write_bytes(b"\x80\x04 not a pickle at all" * 100)
    with pytest.raises(ArtifactError, match="does not match its manifest"):
        Scorer.load(copy)


def test_hash_mismatch_refuses(copy: Path) -> None:
    m = artifact.manifest_path(copy)
    manifest = json.loads(m.read_text())
    manifest["sha256"] = "0" * 64
    m.write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="sha256"):
        Scorer.load(copy)


def test_library_version_mismatch_refuses(copy: Path) -> None:
    m = artifact.manifest_path(copy)
    manifest = json.loads(m.read_text())
    manifest["versions"]["scikit-learn"] = "0.0.1"
    m.write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="scikit-learn 0.0.1"):
        Scorer.load(copy)


def test_estimator_pickled_by_another_scikit_learn_refuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # an artifact whose manifest checks out but holds an estimator from another scikit-learn: refuse, do not warn
    import sklearn.base
    from sklearn.linear_model import LogisticRegression

    monkeypatch.setattr(sklearn.base, "__version__", "0.20.0")
    path = artifact.save(LogisticRegression(), {"version": "old-estimator"}, tmp_path)
    monkeypatch.undo()
    with pytest.raises(ArtifactError, match="0.20.0"):
        artifact.load(path)


def test_scoring_does_not_import_scikit_learn(artifact_path: Path) -> None:
    # start-up time: scikit-learn is a training dependency; the service loads and scores without importing it
    import subprocess
    import sys

    code = (
        "import sys; from model.scorer import Scorer; "
        f"Scorer.load(__import__('pathlib').Path({str(artifact_path)!r})).score(['加入只需399元，每推荐一人奖励100元']); "
        "print('sklearn' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_manifest_refuses(copy: Path) -> None:
    artifact.manifest_path(copy).unlink()
    with pytest.raises(ArtifactError, match="no manifest"):
        Scorer.load(copy)


def test_manifest_records_what_a_reviewer_needs(artifact_path: Path) -> None:
    m = artifact.read_manifest(artifact_path)
    for key in ("version", "created_at", "sha256", "versions", "corpus", "thresholds", "risk_levels", "test_metrics"):
        assert key in m
    assert set(m["versions"]) >= {"python", "scikit-learn", "numpy", "scipy", "jieba"}
    assert m["risk_levels"]["medium"] == m["thresholds"]["risk"] <= m["risk_levels"]["high"]
