"""Keras 3 models. Only ``keras`` APIs, so any backend (TensorFlow, JAX) trains them.

Normalisation statistics of the train split are baked into the model as its first
layer, so a saved model scores raw log-mel input with nothing else to carry along.
"""
from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path
from typing import Callable

import keras
import numpy as np
from keras import layers

from singaffect.errors import SingaffectError



class ModelError(SingaffectError, ValueError):
    """A saved model cannot be loaded (missing, damaged, or holding code); names the file."""


class SettingsError(SingaffectError, ValueError):
    """A model setting does not fit the task (``train.label_smoothing`` for a score); names the key."""


ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry


def save_model(model: keras.Model, path: str | Path) -> None:
    """``model.save`` made byte-stable, so retraining to the same weights gives the same file.

    Keras stamps the save time into ``metadata.json`` and into the zip entries, and
    numbers shared objects in ``config.json`` by their memory address (``id()``):
    times become ``ZIP_EPOCH``, addresses 1, 2, ... in order of first appearance.
    The weights are streamed, never held whole.
    """
    path = Path(path)
    model.save(path)
    _stabilise(path)


def _stabilise(path: Path) -> None:
    """Rewrite the .keras zip at ``path`` without save times and memory addresses."""
    stable = path.with_name(f".{path.name}.stable")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(stable, "w") as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_EPOCH)
            entry.compress_type, entry.external_attr = info.compress_type, info.external_attr
            if info.filename == "metadata.json":
                metadata = json.loads(source.read(info))
                metadata["date_saved"] = "1980-01-01@00:00:00"
                target.writestr(entry, json.dumps(metadata))
                continue
            if info.filename == "config.json":
                target.writestr(entry, json.dumps(_renumber_shared(json.loads(source.read(info)), {})))
                continue
            with source.open(info) as reader, target.open(entry, "w", force_zip64=True) as writer:
                shutil.copyfileobj(reader, writer, 1 << 20)
    os.replace(stable, path)


def _renumber_shared(node, ids: dict[int, int]):
    """``node`` with every ``shared_object_id`` replaced by its order of first appearance."""
    if isinstance(node, dict):
        return {key: ids.setdefault(value, len(ids) + 1) if key == "shared_object_id" else _renumber_shared(value, ids)
                for key, value in node.items()}
    if isinstance(node, list):
        return [_renumber_shared(value, ids) for value in node]
    return node


def load_model(path: str | Path) -> keras.Model:
    """The one way to load a saved model: ``safe_mode=True``, so a ``.keras`` file that
    carries Python code (a ``Lambda`` layer's bytecode) is refused instead of run."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file '{path}' does not exist (run the train stage first)")
    try:
        return keras.models.load_model(path, safe_mode=True)
    except Exception as error:  # keras raises ValueError, TypeError, zipfile errors, ...
        detail = " ".join(str(error).split())[:300]
        raise ModelError(f"cannot load model '{path}': {detail}") from None


def normaliser(kind: str, stats: dict[str, np.ndarray]) -> layers.Layer:
    """Fixed (non-trainable) input scaling from train-split statistics."""
    if kind == "standard":
        # per-mel-band mean/variance, broadcast over time
        return layers.Normalization(axis=1, mean=stats["mean"], variance=stats["variance"], name="normalise")
    if kind == "minmax":
        low, high = float(stats["min"]), float(stats["max"])
        scale = 1.0 / max(high - low, 1e-6)
        return layers.Rescaling(scale=scale, offset=-low * scale, name="normalise")
    raise ValueError(f"params key train.normalization: unknown {kind!r}")


def task_head(x, task: str, n_classes: int):
    """The output layer every model of the project ends in: softmax over emotions, or one linear score."""
    if task == "emotion":
        return layers.Dense(n_classes, activation="softmax", name="emotion")(x)
    return layers.Dense(1, activation="linear", name="enthusiasm")(x)


def _conv_block(x, filters: int, pool: bool = True):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    return layers.MaxPooling2D(2)(x) if pool else x


def compact_cnn(inputs, task: str, n_classes: int):
    """CPU default: pool the 128x216 input 2x4, four small conv blocks, global pooling.

    Chosen for throughput per CPU-minute: average-pooling 2 mel bands x 4 frames
    (93 ms) first cuts conv cost eightfold (3 ms per sample per training step on a
    2-core CPU against 5.8 ms for 2x2 pooling); global average+max pooling keeps
    the head tiny (about 92 k parameters).
    """
    x = layers.AveragePooling2D((2, 4), name="early_pool")(inputs)
    for filters, pool in ((16, True), (32, True), (64, True), (96, False)):
        x = _conv_block(x, filters, pool)
    x = layers.Concatenate()([layers.GlobalAveragePooling2D()(x), layers.GlobalMaxPooling2D()(x)])
    x = layers.Dropout(0.3)(x)
    x = layers.Dense(64, activation="relu")(x)
    x = layers.Dropout(0.3)(x)
    return task_head(x, task, n_classes)


def seed_cnn(inputs, task: str, n_classes: int):
    """The Tohoku enthusiasm CNN: 4 conv blocks 64-512, dense 2048/512/128 (~112 M params; GPU preset)."""
    x = inputs
    for filters in (64, 128, 256, 512):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.BatchNormalization()(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    for units in (2048, 512, 128):
        x = layers.Dense(units, activation="relu")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Dropout(0.3)(x)
    return task_head(x, task, n_classes)


BUILDERS: dict[str, Callable] = {"compact_cnn": compact_cnn, "seed_cnn": seed_cnn}


def build_cnn(name: str, input_shape: tuple[int, ...], task: str, n_classes: int,
              norm: layers.Layer, learning_rate: float, label_smoothing: float = 0.0,
              soft_labels: bool = False) -> keras.Model:
    """A compiled CNN ``name`` for ``task`` on inputs of ``input_shape`` (n_mels, frames, 1).

    ``soft_labels``: emotion targets come one-hot (or mixed by mixup) instead of as class indices.
    """
    if name not in BUILDERS:
        raise ValueError(f"params key train.model: unknown model {name!r} (choose from {list(BUILDERS)})")
    inputs = keras.Input(shape=input_shape, name="log_mel")
    outputs = BUILDERS[name](norm(inputs), task, n_classes)
    model = keras.Model(inputs, outputs, name=name)
    compile_for_task(model, task, learning_rate, label_smoothing, soft_labels)
    return model


def needs_soft_labels(task: str, mixup: float, label_smoothing: float) -> bool:
    """Whether emotion targets must be one-hot rows: mixup blends them, label smoothing needs the categorical loss."""
    return task == "emotion" and (mixup > 0 or label_smoothing > 0)


def compile_for_task(model: keras.Model, task: str, learning_rate: float, label_smoothing: float = 0.0,
                     soft_labels: bool = False) -> None:
    """Adam with the task's loss: class indices (or soft rows) for emotion, mean squared error for enthusiasm.

    ``soft_labels`` alone picks the categorical loss, so the loss always matches the targets the
    caller feeds; the stage decides it with :func:`needs_soft_labels`.
    """
    if task == "emotion" and soft_labels:
        model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                      loss=keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing),
                      metrics=["accuracy"])
    elif task == "emotion" and label_smoothing > 0:
        raise ValueError("label smoothing needs one-hot emotion targets: pass "
                         "soft_labels=needs_soft_labels(task, mixup, label_smoothing)")
    elif task == "emotion":
        model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    elif label_smoothing > 0:
        raise SettingsError(f"params key train.label_smoothing: {label_smoothing} smooths class labels, but "
                         f"train.task={task} regresses a score; set it to 0")
    else:
        model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse", metrics=["mae"])
