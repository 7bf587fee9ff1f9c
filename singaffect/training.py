"""Feed log-mel rows from HDF5 to Keras in batches and train with early stopping.

The mel file is never loaded whole: ``MelBatches`` reads one batch of rows at a
time, and train-split statistics are accumulated chunk by chunk.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import h5py
import keras
import numpy as np

from singaffect import enrolment
from singaffect.errors import SingaffectError


def read_rows(dataset: h5py.Dataset, rows: np.ndarray, max_gap: int = 64, max_span: int = 1024) -> np.ndarray:
    """``dataset[rows]`` for any order of row indices (repeats allowed), read as contiguous slices.

    h5py's fancy indexing selects row by row: 9 s for the 4576 train rows of the default
    mel file, against 1 s to read all 8096 rows as one slice. So the sorted rows are read in
    slices that span runs of them, skipping gaps over ``max_gap`` rows and never holding
    more than ``max_span`` rows at once; the values are the same bytes either way.
    """
    rows = np.asarray(rows, dtype=np.int64)
    order = np.argsort(rows, kind="stable")
    wanted = rows[order]
    out = np.empty((len(rows), *dataset.shape[1:]), dtype=dataset.dtype)
    start = 0
    while start < len(wanted):
        stop = start + 1
        while (stop < len(wanted) and wanted[stop] - wanted[stop - 1] <= max_gap
               and wanted[stop] - wanted[start] < max_span):
            stop += 1
        first = wanted[start]
        block = dataset[first:wanted[stop - 1] + 1]
        out[order[start:stop]] = block[wanted[start:stop] - first]
        start = stop
    return out


def train_statistics(mel_path: Path, rows: np.ndarray, chunk: int = 256,
                     offsets: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per-band mean/variance and global min/max of the train rows, streamed in chunks.

    ``offsets`` (one per row of ``rows``, ``singer_offsets``') are subtracted first, as
    ``MelBatches`` subtracts them, so the statistics describe what the model is fed.
    """
    order = np.argsort(rows, kind="stable")
    rows = np.asarray(rows)[order]
    offsets = None if offsets is None else np.asarray(offsets, dtype=np.float32)[order]
    with h5py.File(mel_path, "r") as handle:
        mel = handle["mel"]
        n_mels = mel.shape[1]
        total = np.zeros(n_mels)
        total_sq = np.zeros(n_mels)
        count = 0
        low, high = np.inf, -np.inf
        for start in range(0, len(rows), chunk):
            block = read_rows(mel, rows[start:start + chunk]).astype(np.float32)
            if offsets is not None:
                block -= offsets[start:start + chunk, :, None]
            block = block.astype(np.float64)
            total += block.sum(axis=(0, 2))
            total_sq += np.square(block).sum(axis=(0, 2))
            count += block.shape[0] * block.shape[2]
            low, high = min(low, block.min()), max(high, block.max())
    mean = total / count
    variance = np.maximum(total_sq / count - mean ** 2, 1e-6)
    return {"mean": mean.astype(np.float32), "variance": variance.astype(np.float32),
            "min": np.float32(low), "max": np.float32(high)}


def singer_offsets(mel_path: Path, manifest: Sequence[dict[str, str]],
                   singer: enrolment.Enrolment) -> np.ndarray | None:
    """Each manifest row's singer spectrum to subtract (``train.enrolment``), or ``None`` without enrolment.

    ``(len(manifest), n_mels)`` float32: the mean over the clip's enrolment set of each
    original's (copy 0) log-mel averaged over time (``enrolment.spectral_offsets``). Train,
    evaluate and predict all subtract it the same way; labels are never read.
    """
    if singer.mode == "none":
        return None
    originals = np.array([i for i, row in enumerate(manifest) if row["copy"] in ("", "0")], dtype=np.int64)
    with h5py.File(mel_path, "r") as handle:
        band_means = np.concatenate([read_rows(handle["mel"], originals[start:start + 256]).astype(np.float64)
                                     .mean(axis=2) for start in range(0, len(originals), 256)])
    return enrolment.spectral_offsets(band_means, [manifest[i] for i in originals], manifest,
                                      singer).astype(np.float32)


def fits_in_memory(mel_path: Path, n_rows: int, budget_gb: float) -> bool:
    """Whether ``n_rows`` rows of ``mel.h5``, in their stored dtype, fit in ``budget_gb`` GiB."""
    with h5py.File(mel_path, "r") as handle:
        mel = handle["mel"]
        row_bytes = int(np.prod(mel.shape[1:])) * mel.dtype.itemsize
    return n_rows * row_bytes <= budget_gb * 2 ** 30


@dataclass(frozen=True)
class SpecMasks:
    """SpecAugment's frequency and time masking (Park et al. 2019), drawn afresh for every train row and epoch.

    Each row gets ``masks`` bands of up to ``max_bands`` mel bands and ``masks`` spans of up
    to ``max_frames`` frames (widths and starts uniform), set to ``fill``: each band's train
    mean, which the standard normaliser maps to 0. The draws depend only on ``seed``, the
    epoch and the row's index in ``mel.h5``, so streamed and held batches mask alike.
    """

    masks: int
    max_bands: int
    max_frames: int
    seed: int
    fill: np.ndarray  # (n_mels,)

    @classmethod
    def from_params(cls, section: dict[str, Any], seed: int, fill: np.ndarray) -> "SpecMasks | None":
        """``train.spec_augment`` as masks, or None when it asks for none."""
        if section["masks"] == 0 or (section["max_bands"] == 0 and section["max_frames"] == 0):
            return None
        return cls(section["masks"], section["max_bands"], section["max_frames"], seed,
                   np.asarray(fill, dtype=np.float32))

    def apply(self, x: np.ndarray, mel_rows: np.ndarray, epoch: int) -> None:
        """Mask ``x`` (rows x bands x frames) in place; ``mel_rows`` are the rows' indices in ``mel.h5``."""
        n_bands, n_frames = x.shape[1], x.shape[2]
        for i, row in enumerate(mel_rows):
            rng = np.random.default_rng((self.seed, epoch, int(row)))
            for _ in range(self.masks):
                width = int(rng.integers(0, min(self.max_bands, n_bands) + 1))
                start = int(rng.integers(0, n_bands - width + 1))
                x[i, start:start + width, :] = self.fill[start:start + width, None]
            for _ in range(self.masks):
                width = int(rng.integers(0, min(self.max_frames, n_frames) + 1))
                start = int(rng.integers(0, n_frames - width + 1))
                x[i, :, start:start + width] = self.fill[:, None]


@dataclass(frozen=True)
class Mixup:
    """mixup (Zhang et al. 2018): each train batch becomes ``lam * batch + (1 - lam) * batch[perm]``,
    inputs and targets alike, with ``lam ~ Beta(alpha, alpha)`` and the permutation drawn afresh for
    every batch of every epoch.

    The draws depend only on ``seed``, the epoch and the batch's index, so streamed and held
    batches mix alike. Targets must be float rows (one-hot emotions) or scores.
    """

    alpha: float
    seed: int

    STREAM = 1  # keeps these draws apart from SpecMasks', which are seeded by (seed, epoch, row)

    @classmethod
    def from_params(cls, alpha: float, seed: int) -> "Mixup | None":
        """``train.mixup`` as a mixer, or None when it is 0."""
        return cls(float(alpha), seed) if alpha > 0 else None

    def apply(self, x: np.ndarray, y: np.ndarray, epoch: int, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The mixed batch ``(x, y)`` for batch ``index`` of ``epoch``."""
        rng = np.random.default_rng((self.seed, epoch, index, self.STREAM))
        lam = np.float32(rng.beta(self.alpha, self.alpha))
        perm = rng.permutation(len(x))
        y = np.asarray(y, dtype=np.float32)
        return lam * x + (1 - lam) * x[perm], lam * y + (1 - lam) * y[perm]


class MelBatches(keras.utils.PyDataset):
    """Batches ``(log_mel[..., None], target)`` from ``mel.h5``: read on demand (streamed, with
    ``workers`` threads prefetching), or from the rows held in memory (``in_memory``).

    Both give the same batches in the same order, so training is byte-identical either way.
    ``offsets`` (one ``(n_mels,)`` row per row of ``rows``: ``singer_offsets``) are subtracted
    from every frame of their row; then ``masks`` (train rows only) mask them and ``mixup`` (train
    rows only) blends each batch with itself shuffled.
    """

    def __init__(self, mel_path: Path, rows: np.ndarray, targets: np.ndarray | None, batch_size: int,
                 shuffle_seed: int | None = None, in_memory: bool = False, offsets: np.ndarray | None = None,
                 masks: SpecMasks | None = None, mixup: Mixup | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.mel_path = Path(mel_path)
        self.rows = np.asarray(rows, dtype=np.int64)
        self.targets = targets
        self.batch_size = batch_size
        self.shuffle_seed = shuffle_seed
        self.epoch = 0
        self.order = np.arange(len(self.rows))
        self.offsets = None if offsets is None else np.asarray(offsets, dtype=np.float32)
        self.masks = masks
        self.mixup = mixup
        if mixup is not None and targets is None:
            raise ValueError("mixup blends targets: give MelBatches the rows' targets")
        if self.offsets is not None and len(self.offsets) != len(self.rows):
            raise ValueError(f"{len(self.offsets)} offsets for {len(self.rows)} rows")
        self._handle: h5py.File | None = None
        self._held: np.ndarray | None = None  # the rows in their stored dtype, when held in memory
        if in_memory:
            with h5py.File(self.mel_path, "r") as handle:
                self._held = read_rows(handle["mel"], self.rows)
        self._reshuffle()

    def _reshuffle(self) -> None:
        if self.shuffle_seed is not None:
            self.order = np.random.default_rng((self.shuffle_seed, self.epoch)).permutation(len(self.rows))

    def __len__(self) -> int:
        return int(np.ceil(len(self.rows) / self.batch_size))

    def __getitem__(self, index: int):
        picked = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        if self._held is not None:  # the same values as a read from the file: rows are copied, never recomputed
            x = self._held[picked].astype(np.float32)
        else:
            if self._handle is None:
                self._handle = h5py.File(self.mel_path, "r")
            x = read_rows(self._handle["mel"], self.rows[picked]).astype(np.float32)
        if self.offsets is not None:
            x -= self.offsets[picked][:, :, None]
        if self.masks is not None:
            self.masks.apply(x, self.rows[picked], self.epoch)
        if self.targets is None:
            return (x[..., None],)
        y = self.targets[picked]
        if self.mixup is not None:
            x, y = self.mixup.apply(x, y, self.epoch, index)
        return x[..., None], y

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self._reshuffle()


class LiveLogger(keras.callbacks.Callback):
    """Log each epoch's metrics through DVCLive's ``Live`` (backend-agnostic, unlike its Keras callback)."""

    def __init__(self, live: Any):
        super().__init__()
        self.live = live

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for name, value in sorted((logs or {}).items()):
            if name == "learning_rate":
                continue
            split = "val" if name.startswith("val_") else "train"
            self.live.log_metric(f"{split}/{name.removeprefix('val_')}", float(value))
        self.live.next_step()


LR_SCHEDULES = ("constant", "cosine")


def learning_rate_at(schedule: str, base: float, epoch: int, epochs: int) -> float:
    """The learning rate of ``epoch`` (0-based) of ``epochs``: ``base`` throughout, or cosine-annealed towards 0.

    Why anneal: at a constant rate the compact CNN's validation loss jumps by tenths from one
    epoch to the next, so early stopping keeps whichever epoch happened to land low; a falling
    rate lets the last epochs settle.
    """
    if schedule == "constant":
        return base
    if schedule == "cosine":
        return base * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))
    raise ValueError(f"params key train.lr_schedule: unknown schedule {schedule!r} (choose from {list(LR_SCHEDULES)})")


def fit(model: keras.Model, train: MelBatches, val: MelBatches, epochs: int, patience: int,
        callbacks: Sequence[keras.callbacks.Callback] = (), lr_schedule: str = "constant") -> keras.callbacks.History:
    """Train with early stopping on validation loss, restoring the best weights; ``lr_schedule`` per epoch."""
    base = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    learning_rate_at(lr_schedule, base, 0, epochs)  # an unknown schedule stops here, before any epoch
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    schedule = [] if lr_schedule == "constant" else [keras.callbacks.LearningRateScheduler(
        lambda epoch, _rate: learning_rate_at(lr_schedule, base, epoch, epochs))]
    return model.fit(train, validation_data=val, epochs=epochs, callbacks=[stop, *schedule, *callbacks], verbose=2)


def predict(model: keras.Model, batches: MelBatches) -> np.ndarray:
    return np.asarray(model.predict(batches, verbose=0))


class DistributionError(SingaffectError, ValueError):
    """``train.distribution`` cannot be used with this backend or batch size; names the key."""


def distribute(distribution: str, batch_size: int) -> int:
    """Opt in to data parallelism over every local device (``keras.distribution.DataParallel``).

    ``data_parallel`` needs the JAX backend (``KERAS_BACKEND=jax``), as Keras' distribution
    API does, and a batch size the device count divides. Returns the number of devices used.
    """
    if distribution == "none":
        return 1
    if distribution != "data_parallel":
        raise DistributionError(f"params key train.distribution: unknown value {distribution!r}")
    if keras.backend.backend() != "jax":
        raise DistributionError(f"params key train.distribution: data_parallel needs KERAS_BACKEND=jax "
                                f"(Keras' distribution API), the backend is {keras.backend.backend()}")
    devices = keras.distribution.list_devices()
    if batch_size % len(devices):
        raise DistributionError(f"params key train.batch_size: {batch_size} is not divisible by the "
                                f"{len(devices)} devices of train.distribution=data_parallel")
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    return len(devices)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and the backend; ask TensorFlow for deterministic ops."""
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
