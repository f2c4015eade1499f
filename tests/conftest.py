"""Shared fixtures: one model trained on the bundled corpus per test session, in a temporary directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from model.scorer import Scorer
from training.corpus import CORPUS_PATH
from training.train import train


@pytest.fixture(scope="session")
def artifact_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A freshly trained artifact (reused by every test; the model under test is the one a user builds)."""
    out = tmp_path_factory.mktemp("artifacts")
    return train(CORPUS_PATH, out, log=lambda _m: None)


@pytest.fixture(scope="session")
def scorer(artifact_path: Path) -> Scorer:
    return Scorer.load(artifact_path)


@pytest.fixture()
def model_env(artifact_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """REDFLAG_MODEL_PATH pointing at the session artifact, for CLI and service tests."""
    monkeypatch.setenv("REDFLAG_MODEL_PATH", str(artifact_path))
    return artifact_path


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("TQDM_DISABLE", "1")
