"""numba's on-disk kernel cache under parallel workers (numba#10128, librosa#1998).

Two processes compiling the same cached ``guvectorize`` kernel at once could leave a
kernel and a wrapper from different compiles on disk: every later run segfaulted.
Every run here is a subprocess with its own ``NUMBA_CACHE_DIR``, so the first one
starts from an empty cache as the first ``dvc repro`` on a fresh machine does. Run as a
script, this file does the per-clip work of the functionals and handcrafted stages.
"""
from __future__ import annotations

import functools
import hashlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

import synth
from conftest import ROOT
from singaffect import compute, storage

SR = 22050
TABLES = ("functionals.h5", "handcrafted.h5")
GUFUNCS = '''
from numba import guvectorize


@guvectorize(["void(float64[:], float64[:])"], "(n)->(n)", cache=True)
def first(x, out):
    out[:] = x + 1


@guvectorize(["void(float64[:], float64[:])"], "(n)->(n)", cache=True)
def second(x, out):
    out[:] = x * 2
'''
USE_GUFUNCS = "import numpy as np, gufuncs; assert gufuncs.second(np.ones(2)).tolist() == [2.0, 2.0]"
GUARDED = f"from singaffect import stage\ndef main():\n    {USE_GUFUNCS}\nstage.run(main)"


def extract_tables(audio: Path, out_dir: Path) -> None:
    """The functionals and handcrafted stages' work on ``audio``: 2 workers, one clip per work item."""
    from singaffect import feature_table, functionals, handcrafted, stage

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    ids = [f"c{i}" for i in range(4)]

    def main() -> None:
        functionals_settings = functionals.Settings(**params["functionals"])
        feature_table.write_table_file(out_dir / TABLES[0],
                                       functools.partial(functionals.functionals, settings=functionals_settings),
                                       functionals.functional_names(functionals_settings), audio, ids,
                                       2, 1, "functionals")
        feature_table.write_table_file(out_dir / TABLES[1],
                                       functools.partial(handcrafted.handcrafted,
                                                         settings=handcrafted.Settings(**params["handcrafted"])),
                                       handcrafted.HANDCRAFTED_NAMES, audio, ids, 2, 1, "handcrafted")

    stage.run(main)


def run(args: list[str], cache: Path | None, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess:
    """``python args`` with ``NUMBA_CACHE_DIR=cache`` (unset if None); output captured."""
    environ = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    environ.update(env, **({"NUMBA_CACHE_DIR": str(cache)} if cache else {}))
    return subprocess.run([sys.executable, *args], cwd=cwd, env=environ, capture_output=True, text=True,
                          timeout=600)


def run_tables(audio: Path, out_dir: Path, cache: Path) -> tuple[subprocess.CompletedProcess, list[str]]:
    """One run of ``extract_tables`` in a subprocess; the digests of the tables it wrote."""
    out_dir.mkdir()
    done = run([__file__, str(audio), str(out_dir)], cache)
    digests = [hashlib.sha256((out_dir / t).read_bytes()).hexdigest() for t in TABLES if (out_dir / t).exists()]
    return done, digests


@pytest.fixture(scope="module")
def warm(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    """Three rounds with 2 workers from an empty cache: ``(audio.h5, the cache, table digests)``."""
    root = tmp_path_factory.mktemp("numba")
    audio, cache = root / "audio.h5", root / "cache"
    with storage.create_h5(audio) as handle:
        writer = storage.ClipAudioWriter(handle, SR)
        writer.append([synth.sung_tone(0.5, SR, f0=150.0 + 40 * i, seed=i) for i in range(4)])
        writer.close()
    rounds = []
    for i in range(3):
        done, digests = run_tables(audio, root / f"round{i}", cache)
        assert done.returncode == 0, f"round {i} (exit {done.returncode}): {done.stderr[-3000:]}"
        rounds.append(digests)
    assert len(rounds[0]) == 2 and rounds[0] == rounds[1] == rounds[2]
    return audio, cache, rounds[0]


@pytest.mark.slow
def test_two_workers_from_an_empty_cache_never_crash_and_agree(warm: tuple[Path, Path, list[str]]) -> None:
    _, cache, _ = warm
    assert (cache / compute.LOCK_NAME).exists()
    assert any(p.name.startswith("librosa") for p in cache.iterdir())  # librosa's kernels cached here


@pytest.mark.slow
def test_a_damaged_cache_is_one_error_line_naming_it(warm: tuple[Path, Path, list[str]], tmp_path: Path) -> None:
    audio, cache, digests = warm
    damaged = tmp_path / "damaged"
    shutil.copytree(cache, damaged)
    entries = [p for p in damaged.rglob("*") if p.suffix in (".nbi", ".nbc")]
    assert entries
    for i, path in enumerate(entries):
        path.write_bytes(np.random.default_rng(i).bytes(300))
    done, got = run_tables(audio, tmp_path / "out", damaged)
    assert done.returncode in (0, 1), done.stderr[-3000:]  # never a signal
    if done.returncode == 0:
        assert got == digests
    else:
        last = done.stderr.strip().splitlines()[-1]
        assert last.startswith("error: numba's cache") and f"{damaged} is damaged" in last and "delete" in last


@pytest.fixture
def gufunc_dir(tmp_path: Path) -> Path:
    (tmp_path / "gufuncs.py").write_text(GUFUNCS)
    return tmp_path


def poison(gufunc_dir: Path, cache: Path | None, **env: str) -> bool:
    """Fill a cache, then drop ``second``'s kernel only: its next compile gets another symbol
    than the cached wrapper calls (numba#10128). True if unguarded numba now dies of a signal."""
    assert run(["-c", USE_GUFUNCS], cache, gufunc_dir, **env).returncode == 0
    kernels = list((cache or gufunc_dir).rglob("gufuncs.second-*"))
    assert kernels
    for path in kernels:
        path.unlink()
    unguarded = run(["-c", USE_GUFUNCS], cache, gufunc_dir, **env)
    assert unguarded.returncode in (0, -signal.SIGSEGV, -signal.SIGBUS), unguarded.stderr[-2000:]
    return unguarded.returncode < 0


def test_a_wrapper_from_another_compile_is_one_error_line(gufunc_dir: Path) -> None:
    cache = gufunc_dir / "cache"
    crashed = poison(gufunc_dir, cache, PYTHONPATH=str(gufunc_dir))
    guarded = run(["-c", GUARDED], cache, gufunc_dir, PYTHONPATH=f"{ROOT}{os.pathsep}{gufunc_dir}")
    if crashed:  # numba 0.68: a null gufunc pointer, now refused before the call
        assert guarded.returncode == 1
        assert guarded.stderr.strip() == (
            f"error: numba's cache of compiled kernels in {cache} is damaged "
            f"(second: its gufunc wrapper belongs to another compile); delete that folder and rerun")
    else:  # a numba that fixed the symbol mismatch itself
        assert guarded.returncode == 0, guarded.stderr[-2000:]


def test_a_broken_cache_of_an_older_install_is_never_read(gufunc_dir: Path) -> None:
    # Before, numba cached next to the source (librosa's __pycache__ in site-packages).
    crashed = poison(gufunc_dir, None, PYTHONPATH=str(gufunc_dir))
    xdg = gufunc_dir / "xdg"
    guarded = run(["-c", GUARDED], None, gufunc_dir, PYTHONPATH=f"{ROOT}{os.pathsep}{gufunc_dir}",
                  XDG_CACHE_HOME=str(xdg))
    assert guarded.returncode == 0, (crashed, guarded.stderr[-2000:])
    assert list((xdg / "singaffect" / "numba").rglob("guf-gufuncs.second-*.nbc"))


def die(code: int) -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return code


def test_a_killed_worker_is_one_error_line_naming_the_cache() -> None:
    with pytest.raises(compute.WorkerDiedError, match="delete numba's cache .* and rerun") as info:
        list(compute.ordered_map(die, [(1,), (2,)], 2))
    assert str(compute.numba_cache_dir()) in str(info.value) and "\n" not in str(info.value)


LEAKING_STAGE = """
import os, signal
from singaffect import compute, stage


def leak_and_die(i):
    from joblib.externals.loky.backend import resource_tracker
    resource_tracker.register(f"/singaffect-test-leak-{os.getpid()}", "semlock")
    os.kill(os.getpid(), signal.SIGKILL)


def main():
    list(compute.ordered_map(leak_and_die, [(1,), (2,)], 2))


stage.run(main)
"""


def test_the_error_line_comes_after_the_workers_shutdown_warnings(tmp_path: Path) -> None:
    # A killed worker leaves resources to loky's tracker, whose warnings printed after the
    # error once the stage had exited (seen in CI); the error line must stay last.
    done = run(["-c", LEAKING_STAGE], tmp_path / "cache")
    assert done.returncode == 1, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("error: a worker process was killed"), lines[-6:]
    assert sum(line.startswith("error:") for line in lines) == 1

if __name__ == "__main__":
    extract_tables(Path(sys.argv[1]), Path(sys.argv[2]))
