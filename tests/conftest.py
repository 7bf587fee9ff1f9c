"""Shared fixtures: tiny synthetic corpora generated per test session."""
from __future__ import annotations

from pathlib import Path

import pytest

import synth

ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: end-to-end runs of real dvc commands (seconds to minutes)")


@pytest.fixture(scope="session")
def ravdess_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four actors x 11 emotion/intensity combinations x 2 statements, 1 s each, 16 kHz WAV."""
    root = tmp_path_factory.mktemp("ravdess")
    synth.write_ravdess_corpus(root)
    return root


@pytest.fixture(scope="session")
def evaluation_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lab-style corpus with an ``Evaluation.txt`` of ``filename score`` lines (0..2)."""
    root = tmp_path_factory.mktemp("lab")
    synth.write_evaluation_corpus(root)
    return root
