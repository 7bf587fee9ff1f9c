"""HDF5 storage and atomic outputs."""
from __future__ import annotations

import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from singaffect import storage
from singaffect.storage import OutputError


def some_clips() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.standard_normal(n).astype(np.float32) for n in (5, 0, 17, 3, 70000)]


def write_audio(path: Path, clips: list[np.ndarray], rate: int = 16000) -> None:
    with storage.create_h5(path) as handle:
        writer = storage.ClipAudioWriter(handle, rate)
        writer.append(clips[:2])
        writer.append([])
        writer.append(clips[2:])
        writer.close()


def test_clip_audio_round_trip(tmp_path: Path) -> None:
    clips = some_clips()
    write_audio(tmp_path / "audio.h5", clips)
    with storage.ClipAudioReader(tmp_path / "audio.h5") as reader:
        assert len(reader) == len(clips)
        assert reader.sample_rate == 16000
        np.testing.assert_array_equal(reader.offsets, np.cumsum([0] + [len(c) for c in clips]))
        for i, clip in enumerate(clips):
            got = reader.clip(i)
            assert got.dtype == np.float32
            np.testing.assert_array_equal(got, clip)
        for start, stop in ((0, 5), (1, 4), (2, 3), (3, 3)):
            block = reader.clips(start, stop)
            assert len(block) == stop - start
            for got, clip in zip(block, clips[start:stop]):
                np.testing.assert_array_equal(got, clip)


def test_empty_clip_audio_file(tmp_path: Path) -> None:
    write_audio(tmp_path / "audio.h5", [])
    with storage.ClipAudioReader(tmp_path / "audio.h5") as reader:
        assert len(reader) == 0


def write_everything(path: Path) -> None:
    """An audio file plus a fixed-row dataset with attributes, as the stages write them."""
    with storage.create_h5(path) as handle:
        writer = storage.ClipAudioWriter(handle, 22050)
        writer.append(some_clips())
        writer.close()
        handle.attrs["n_mels"] = 32
        rows = storage.create_rows(handle, "mel", 6, (4, 3), "float16", rows_per_chunk=4)
        rows[:] = np.arange(72, dtype=np.float16).reshape(6, 4, 3)


def test_hdf5_written_twice_is_byte_identical(tmp_path: Path) -> None:
    write_everything(tmp_path / "first.h5")
    time.sleep(1.1)  # object modification times, if any were stored, would now differ
    write_everything(tmp_path / "second.h5")
    assert (tmp_path / "first.h5").read_bytes() == (tmp_path / "second.h5").read_bytes()


def test_create_rows_shape_and_chunks(tmp_path: Path) -> None:
    with storage.create_h5(tmp_path / "rows.h5") as handle:
        small = storage.create_rows(handle, "small", 3, (8, 5), "float32", rows_per_chunk=64)
        big = storage.create_rows(handle, "big", 100, (8, 5), "float16", rows_per_chunk=8)
        assert small.shape == (3, 8, 5) and small.chunks == (3, 8, 5)
        assert big.shape == (100, 8, 5) and big.chunks == (8, 8, 5) and big.dtype == np.float16


@pytest.mark.parametrize("n, size, expected", [
    (0, 4, []), (3, 4, [(0, 3)]), (8, 4, [(0, 4), (4, 8)]), (9, 4, [(0, 4), (4, 8), (8, 9)])])
def test_chunk_ranges(n: int, size: int, expected: list) -> None:
    assert storage.chunk_ranges(n, size) == expected


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 200), size=st.integers(1, 50))
def test_chunk_ranges_cover_every_item_once_in_order(n: int, size: int) -> None:
    ranges = storage.chunk_ranges(n, size)
    assert [i for a, b in ranges for i in range(a, b)] == list(range(n))
    assert all(0 < b - a <= size for a, b in ranges)


# --- atomic outputs ---------------------------------------------------------------

def listing(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def test_atomic_outputs_move_into_place_on_success(tmp_path: Path) -> None:
    a, b = tmp_path / "out" / "a.csv", tmp_path / "deeper" / "x" / "b.keras"
    with storage.atomic_outputs(a, b) as tmp:
        assert [t.parent for t in tmp] == [a.parent, b.parent]
        assert tmp[1].suffix == ".keras" and tmp[0].name.startswith(".")
        assert not a.exists() and not b.exists()
        tmp[0].write_text("new a")
        tmp[1].write_text("new b")
    assert a.read_text() == "new a" and b.read_text() == "new b"
    assert listing(tmp_path) == ["deeper", "deeper/x", "deeper/x/b.keras", "out", "out/a.csv"]


def test_atomic_outputs_replace_a_directory_output(tmp_path: Path) -> None:
    final = tmp_path / "model"
    (final / "old").mkdir(parents=True)
    with storage.atomic_outputs(final) as tmp:
        tmp[0].mkdir()
        (tmp[0] / "new").write_text("x")
    assert listing(tmp_path) == ["model", "model/new"]


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt(), FileNotFoundError(2, "gone", "in.h5")])
def test_atomic_outputs_leave_nothing_when_the_body_raises(tmp_path: Path, error: BaseException) -> None:
    out = tmp_path / "out"
    with pytest.raises((type(error), OutputError)):
        with storage.atomic_outputs(out / "a.h5", out / "b.csv") as tmp:
            with storage.create_h5(tmp[0]) as handle:
                handle.create_dataset("x", data=np.arange(3))
            tmp[1].write_text("half")
            raise error
    assert listing(tmp_path) == ["out"]


def test_atomic_outputs_keep_previous_outputs_when_the_body_raises(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("old a")
    b.write_text("old b")
    with pytest.raises(ValueError):
        with storage.atomic_outputs(a, b) as tmp:
            tmp[0].write_text("new a")
            raise ValueError("stage failed")
    assert a.read_text() == "old a" and b.read_text() == "old b"
    assert listing(tmp_path) == ["a.txt", "b.txt"]


def test_atomic_outputs_refuse_a_missing_output(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    b.write_text("old b")
    with pytest.raises(OutputError, match=r"stage did not write .*\.b\.tmp-\d+\.txt"):
        with storage.atomic_outputs(a, b) as tmp:
            tmp[0].write_text("new a")
    assert listing(tmp_path) == ["b.txt"]
    assert b.read_text() == "old b"


def test_atomic_outputs_clear_stale_temporaries(tmp_path: Path) -> None:
    """A temporary left by a killed run (same pid reused) is not mistaken for this run's output."""
    a = tmp_path / "a.txt"
    storage._tmp_name(a).write_text("stale")
    with storage.atomic_outputs(a) as tmp:
        assert not tmp[0].exists()
        tmp[0].write_text("fresh")
    assert listing(tmp_path) == ["a.txt"] and a.read_text() == "fresh"


def test_atomic_outputs_unwritable_folder_names_the_path(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file where a folder should be")
    with pytest.raises(OutputError, match="blocker"):
        with storage.atomic_outputs(tmp_path / "blocker" / "out.csv") as tmp:
            tmp[0].write_text("x")
