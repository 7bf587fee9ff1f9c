"""A throw-away copy of the project for end-to-end tests: tiny corpus, tiny params.

``make_repo`` copies the pipeline (dvc.yaml, cv/dvc.yaml, params.yaml, stages/, singaffect/) into a
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

# On top of TINY_PARAMS for tests that run every stage: the functionals' spectral contrast
# needs a rate well above 8 kHz, and the mel examples want a few more bands.
WHOLE_PIPELINE_PARAMS: dict[str, Any] = {
    "data.sample_rate": 16000,
    "mel.n_fft": 512,
    "mel.hop_length": 256,
    "mel.n_mels": 32,
}


DATA_STAGES = ("raw", "augment", "pad", "mel", "split")  # raw audio to a train/val/test split


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
              params: dict[str, Any] | None = None, git: bool = False, dvc: bool = False,
              track_corpus: bool = False) -> Path:
    """A copy of the pipeline under ``dest`` with ``corpus(dest / "data/corpus")`` written.

    ``params`` overrides come on top of ``TINY_PARAMS``. ``dvc=True`` implies ``git``.
    ``track_corpus`` (with ``dvc``) ``dvc add``s the corpus, as scripts/get_corpus.sh does,
    so that queued experiments, which run in a copy of the commit, find it.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("stages", "singaffect", "cv"):
        # not cv/dvc.lock: its hashes are of the real corpus' outputs, which a tiny repo never has
        shutil.copytree(PROJECT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "dvc.lock"))
    shutil.copy(PROJECT / "dvc.yaml", dest / "dvc.yaml")
    shutil.copy(PROJECT / "params.yaml", dest / "params.yaml")
    write_params(dest, {**TINY_PARAMS, **(params or {})})
    if corpus is not None:
        (dest / "data" / "corpus").mkdir(parents=True, exist_ok=True)
        corpus(dest / "data" / "corpus")
    if git or dvc:
        (dest / ".gitignore").write_text("__pycache__/\n")
        for args in (["init", "-q", "-b", "main"], ["config", "user.email", "test@example.com"],
                     ["config", "user.name", "test"], ["config", "commit.gpgsign", "false"]):
            git_run(dest, *args)
    if dvc:
        run_dvc(dest, "init", "-q")
        run_dvc(dest, "config", "core.analytics", "false")
        if track_corpus:
            run_dvc(dest, "add", "-q", "data/corpus")
    if git or dvc:  # dvclive wants a commit to compare against
        git_run(dest, "add", "-A")
        git_run(dest, "commit", "-q", "-m", "tiny repo")
    return dest


def git_run(repo: Path, *args: str) -> str:
    """``git *args`` in ``repo``; its stdout. Fails with git's message."""
    done = subprocess.run(["git", *args], cwd=repo, env=env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def env() -> dict[str, str]:
    """The environment for subprocesses: this interpreter's ``python``/``dvc`` first on PATH.

    Stage commands say ``python`` and a queue worker starts ``dvc``: both must be the ones
    the tests run with. GIT_*/DVC_* variables of an outer repository (a hook, a CI job)
    would point git and dvc at it instead of the scratch repo.
    """
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("DVC_", "GIT_"))}
    return {**inherited, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "DVC_NO_ANALYTICS": "1", "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}


def run_dvc(repo: Path, *args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
    """``dvc *args`` in ``repo``; output captured, failures raise with the output shown."""
    result = subprocess.run([str(BIN / "dvc"), *args], cwd=repo, env=env(), capture_output=True, text=True,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"dvc {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def start_dvc(repo: Path, *args: str) -> subprocess.Popen:
    """``dvc *args`` in ``repo`` in the background (for kill tests); stdout and stderr merged."""
    return subprocess.Popen([str(BIN / "dvc"), *args], cwd=repo, env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def lock_hashes(repo: Path, stages: tuple[str, ...] = DATA_STAGES) -> dict[str, str]:
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


def stage_argv(name: str, pipeline: Path = PROJECT / "dvc.yaml") -> list[str]:
    """The arguments ``pipeline``'s stage ``name`` passes to its script (the paths it reads and writes)."""
    stage = yaml.safe_load(Path(pipeline).read_text())["stages"][name]
    words = stage["cmd"].split()
    assert words[:3] == ["python", "-m", f"stages.{name}"], stage["cmd"]
    return words[3:]


def repo_ready_to_train(dest: Path, **make_args: Any) -> Path:
    """A tiny repo (``make_repo``) with its data stages run in-process, so a test can train on its split."""
    repo = make_repo(dest, **make_args)
    for name in DATA_STAGES:
        assert run_stage(repo, name) == 0, name
    return repo


def run_stage(repo: Path, name: str) -> int:
    """Run stage ``name`` in-process with ``repo`` as working directory, as ``python -m stages.<name>``
    would (through ``singaffect.stage.run``, with the arguments of its cmd in ``repo``'s dvc.yaml);
    returns the exit status (0 or 1)."""
    from singaffect import stage

    module = load_stage(name)
    with chdir(repo):
        try:
            pipeline = repo / "dvc.yaml" if (repo / "dvc.yaml").is_file() else PROJECT / "dvc.yaml"  # bare folders too
            stage.run(module.main, stage_argv(name, pipeline), in_process=True)
        except SystemExit as exit_:
            return int(exit_.code or 0)
    return 0
