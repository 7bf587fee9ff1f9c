"""A throw-away copy of the project for end-to-end tests: tiny corpus, tiny params.

``make_repo`` copies the pipeline (dvc.yaml, params.yaml, stages/, singaffect/) into a
temporary folder, writes a synthetic corpus to ``data/corpus`` and shrinks the params
so that the whole pipeline runs in seconds; with ``git``/``dvc`` it also initialises
the repositories so real ``dvc repro`` runs can be tested. Stage scripts can also be
run in-process with ``run_stage`` (much faster than a subprocess per case).
"""
from __future__ import annotations

import contextlib
import copy
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

import synth

PROJECT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# Small enough that raw..evaluate run in seconds, big enough for compact_cnn's pooling
# (16 mel bands x 63 frames) and for every split side to be non-empty.
TINY_PARAMS: dict[str, Any] = {
    "data.sample_rate": 8000,
    "augment.copies": 1,
    "pad.seconds": 1.0,
    "mel.n_fft": 256,
    "mel.hop_length": 128,
    "mel.n_mels": 16,
    "split.test_speakers": [4],
    "split.val_speakers": [3],
    "train.epochs": 2,
    "train.batch_size": 16,
    "train.patience": 2,
    "compute.n_jobs": 1,
    "compute.chunk_size": 8,
}


def set_keys(params: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``params`` with dotted keys (``"augment.gain.p"``) set to new values."""
    params = copy.deepcopy(params)
    for dotted, value in overrides.items():
        *parents, leaf = dotted.split(".")
        node = params
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return params


def write_params(repo: Path, overrides: dict[str, Any]) -> dict[str, Any]:
    """Apply ``overrides`` to ``repo/params.yaml`` in place; returns the new params."""
    path = Path(repo) / "params.yaml"
    params = set_keys(yaml.safe_load(path.read_text()), overrides)
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return params


def make_repo(dest: Path, corpus: Callable[[Path], Any] | None = synth.write_ravdess_corpus,
              params: dict[str, Any] | None = None, git: bool = False, dvc: bool = False) -> Path:
    """A copy of the pipeline under ``dest`` with ``corpus(dest / "data/corpus")`` written.

    ``params`` overrides come on top of ``TINY_PARAMS``. ``dvc=True`` implies ``git``.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("stages", "singaffect"):
        shutil.copytree(PROJECT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT / "dvc.yaml", dest / "dvc.yaml")
    shutil.copy(PROJECT / "params.yaml", dest / "params.yaml")
    write_params(dest, {**TINY_PARAMS, **(params or {})})
    if corpus is not None:
        (dest / "data" / "corpus").mkdir(parents=True, exist_ok=True)
        corpus(dest / "data" / "corpus")
    if git or dvc:
        for args in (["init", "-q"], ["config", "user.email", "test@example.com"], ["config", "user.name", "test"]):
            subprocess.run(["git", *args], cwd=dest, check=True, capture_output=True)
    if dvc:
        run_dvc(dest, "init", "-q")
        run_dvc(dest, "config", "core.analytics", "false")
    if git or dvc:  # dvclive wants a commit to compare against
        for args in (["add", "-A"], ["commit", "-q", "-m", "tiny repo"]):
            subprocess.run(["git", *args], cwd=dest, check=True, capture_output=True)
    return dest


def env() -> dict[str, str]:
    """The environment for subprocesses: this interpreter's ``python``/``dvc`` first on PATH."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "DVC_NO_ANALYTICS": "1", "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}


def run_dvc(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """``dvc *args`` in ``repo``; output captured, failures raise with the output shown."""
    result = subprocess.run([str(BIN / "dvc"), *args], cwd=repo, env=env(), capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"dvc {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def start_stage(repo: Path, name: str) -> subprocess.Popen:
    """``python stages/<name>.py`` in ``repo`` as a background process (for kill tests)."""
    return subprocess.Popen([sys.executable, f"stages/{name}.py"], cwd=repo, env=env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def lock_hashes(repo: Path, stages: tuple[str, ...] = ("raw", "augment", "pad", "mel", "split")) -> dict[str, str]:
    """``{output path: md5}`` of ``stages`` in ``repo/dvc.lock`` (cached outputs only)."""
    lock = yaml.safe_load((Path(repo) / "dvc.lock").read_text())["stages"]
    return {out["path"]: out["md5"] for stage in stages for out in lock[stage].get("outs", [])}


@contextlib.contextmanager
def chdir(path: Path) -> Iterator[None]:
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def load_stage(name: str, repo: Path | None = None):
    """The module ``stages/<name>.py`` (of ``repo`` or of the project), imported afresh."""
    path = Path(repo or PROJECT) / "stages" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"stage_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_stage(repo: Path, name: str) -> int:
    """Run stage ``name`` in-process with ``repo`` as working directory, as ``python stages/<name>.py``
    would (through ``singaffect.stage.run``); returns the exit status (0 or 1)."""
    from singaffect import stage

    module = load_stage(name)
    with chdir(repo):
        try:
            stage.run(module.main)
        except SystemExit as exit_:
            return int(exit_.code or 0)
    return 0
