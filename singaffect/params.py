"""Load and validate ``params.yaml`` before any stage does work.

Every key the pipeline understands is declared once in ``SCHEMA``; a stage asks for
the sections it reads, and anything unknown, mistyped or out of range is a
``ParamsError`` that names the key (and suggests the closest known one for typos).
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml

from singaffect import compute
from singaffect.errors import SingaffectError


class ParamsError(SingaffectError, ValueError):
    """A params value is missing, unknown or out of range; the message names the key."""


@dataclass(frozen=True)
class Spec:
    kind: type | tuple[type, ...]
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] | None = None
    item: type | tuple[type, ...] | None = None  # element type(s) for lists

    def check(self, key: str, value: Any) -> None:
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            names = "/".join(k.__name__ for k in kinds)
            raise ParamsError(f"params key '{key}': expected {names}, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ParamsError(f"params key '{key}': {value!r} is not a finite number")
        if self.choices is not None and not isinstance(value, list) and value not in self.choices:
            raise ParamsError(f"params key '{key}': {value!r} is not one of {list(self.choices)}")
        if self.low is not None and value < self.low:
            raise ParamsError(f"params key '{key}': {value!r} is below the minimum {self.low}")
        if self.high is not None and value > self.high:
            raise ParamsError(f"params key '{key}': {value!r} is above the maximum {self.high}")
        if self.item is not None and isinstance(value, list):
            for element in value:
                if not isinstance(element, self.item) or isinstance(element, bool):
                    raise ParamsError(f"params key '{key}': element {element!r} has the wrong type")


def _prob() -> Spec:
    return Spec(float, 0.0, 1.0)


SCHEMA: dict[str, Any] = {
    "data": {
        "corpus": Spec(str, choices=("ravdess", "evaluation_txt", "csv")),
        "root": Spec(str),
        "manifest": Spec(str),
        "score_max": Spec(float, low=1e-9),
        "sample_rate": Spec(int, 4000, 192000),
        "on_error": Spec(str, choices=("fail", "skip")),
        "max_rejected_fraction": _prob(),
        "silence_rms": Spec(float, 0.0, 1.0),
    },
    "augment": {
        "copies": Spec(int, 0, 100),
        "seed": Spec(int, 0),
        "gaussian_noise": {"p": _prob(), "min_amplitude": Spec(float, 0.0, 1.0), "max_amplitude": Spec(float, 0.0, 1.0)},
        "time_stretch": {"p": _prob(), "min_rate": Spec(float, 0.1, 10.0), "max_rate": Spec(float, 0.1, 10.0)},
        "pitch_shift": {"p": _prob(), "min_semitones": Spec(float, -24.0, 24.0), "max_semitones": Spec(float, -24.0, 24.0)},
        "shift": {"p": _prob(), "min_shift": Spec(float, -1.0, 1.0), "max_shift": Spec(float, -1.0, 1.0)},
        "gain": {"p": _prob(), "min_gain_db": Spec(float, -60.0, 60.0), "max_gain_db": Spec(float, -60.0, 60.0)},
        "polarity_inversion": {"p": _prob()},
        "stretch_method": Spec(str, choices=("signalsmith_stretch", "librosa_phase_vocoder")),
        "dtype": Spec(str, choices=("float16", "float32")),
    },
    "pad": {"seconds": Spec(float, 0.1, 600.0), "max_trim_fraction": _prob()},
    "mel": {
        "n_fft": Spec(int, 64, 16384),
        "hop_length": Spec(int, 16, 16384),
        "n_mels": Spec(int, 8, 512),
        "dtype": Spec(str, choices=("float16", "float32")),
    },
    "split": {
        # the names of splits.STRATEGIES (tests/test_splits.py checks), spelt out so that params.py, which
        # every stage reads, does not import the splitter: a splits.py change must not rerun raw
        "strategy": Spec(str, choices=("group", "speaker", "cross_song_same_singers", "cross_song_new_singers",
                                       "random", "actor_folds", "leave_one_actor_out", "final_check")),
        "seed": Spec(int, 0),
        "val_fraction": Spec(float, 0.0, 0.9),
        "test_fraction": Spec(float, 0.0, 0.9),
        "test_speakers": Spec((list, str), choices=("auto",), item=(int, str)),  # a list, or auto
        "val_speakers": Spec((list, str), choices=("auto",), item=(int, str)),
        "final_check_speakers": Spec(list, item=(int, str)),
        "train_statement": Spec((int, str, list), item=(int, str)),  # a song number or name, or a list
        "n_folds": Spec(int, 2, 1000),
        "fold": Spec(int, 0, 999),
    },
    "train": {
        "task": Spec(str, choices=("emotion", "enthusiasm")),
        "model": Spec(str, choices=("compact_cnn", "seed_cnn")),
        "epochs": Spec(int, 1, 10000),
        "batch_size": Spec(int, 1, 4096),
        "learning_rate": Spec(float, 1e-7, 1.0),
        "patience": Spec(int, 0, 10000),
        "seed": Spec(int, 0),
        "normalization": Spec(str, choices=("standard", "minmax")),
        "calibration": Spec(str, choices=("none", "linear", "isotonic")),
        "distribution": Spec(str, choices=("none", "data_parallel")),
        "memory_budget_gb": Spec(float, 0.0, 4096.0),
        "enrolment": Spec(str, choices=("none", "other_statement", "other_takes")),
        "enrolment_takes": Spec(int, 0, 100000),
        "spec_augment": {"masks": Spec(int, 0, 64), "max_bands": Spec(int, 0, 4096), "max_frames": Spec(int, 0, 100000)},
        "mixup": Spec(float, 0.0, 100.0),
        "label_smoothing": Spec(float, 0.0, 0.9),
        "lr_schedule": Spec(str, choices=("constant", "cosine")),
    },
    "compute": {"n_jobs": Spec(int, -1, 256), "chunk_size": Spec(int, 1, 100000),
                "backend": Spec(str, choices=compute.BACKENDS), "scheduler": Spec(str)},
    "functionals": {
        "n_mfcc": Spec(int, 1, 128),
        "n_fft": Spec(int, 64, 16384),
        "hop_length": Spec(int, 16, 16384),
        "n_mels": Spec(int, 8, 512),
        "mel_scale": Spec(str, choices=("power", "db")),
        "tonnetz": Spec(str, choices=("harmonic_cqt", "chroma_stft")),
    },
    "handcrafted": {
        "fmin": Spec(float, 0.1, 24000.0),   # feasibility at the sample rate: handcrafted.check_settings
        "fmax": Spec(float, 0.1, 24000.0),
        "frame_length": Spec(int, 256, 16384),
        "hop_length": Spec(int, 16, 16384),
        "resolution": Spec(float, 0.01, 1.0),
        "top_db": Spec(float, 1.0, 200.0),
        "min_segment_seconds": Spec(float, 0.0, 10.0),
        "tail_seconds": Spec(float, 0.01, 10.0),
        "vibrato_min_hz": Spec(float, 0.1, 50.0),
        "vibrato_max_hz": Spec(float, 0.1, 50.0),
    },
    "functionals_model": {
        "model": Spec(str, choices=("ridge", "logistic", "svm", "lda", "mlp", "lstm", "gru", "conv1d")),
        "alpha": Spec(float, 1e-9, 1e9),
        "alpha_grid": Spec(list, item=(int, float)),
        "epochs": Spec(int, 1, 10000),
        "batch_size": Spec(int, 1, 4096),
        "learning_rate": Spec(float, 1e-7, 1.0),
        "patience": Spec(int, 0, 10000),
        "seed": Spec(int, 0),
        "enrolment": Spec(str, choices=("none", "other_statement", "other_takes")),
        "enrolment_takes": Spec(int, 0, 100000),
        "enrolment_emotions": Spec(list, item=str),
        "enrolment_scale": Spec(str, choices=("standardise", "centre")),
        "enrolment_statements": Spec(list, item=(int, str)),
        "enrolment_match_emotion": Spec(bool),
    },
    "handcrafted_model": {"alpha": Spec(float, 1e-9, 1e9)},
}

# Sections renamed since results were first recorded: old commands get the new name in the error.
RENAMED_SECTIONS = {"classic": "functionals_model", "baseline": "handcrafted_model"}

# Cross-key rules: (low key, high key) pairs that must be ordered.
_ORDERED = [
    ("augment.gaussian_noise.min_amplitude", "augment.gaussian_noise.max_amplitude"),
    ("augment.time_stretch.min_rate", "augment.time_stretch.max_rate"),
    ("augment.pitch_shift.min_semitones", "augment.pitch_shift.max_semitones"),
    ("augment.shift.min_shift", "augment.shift.max_shift"),
    ("augment.gain.min_gain_db", "augment.gain.max_gain_db"),
    ("handcrafted.fmin", "handcrafted.fmax"),
    ("handcrafted.vibrato_min_hz", "handcrafted.vibrato_max_hz"),
]


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


_SCHEMA_FLAT: dict[str, Spec] = _flatten(SCHEMA)


def validate(params: dict[str, Any], sections: Iterable[str] | None = None) -> None:
    """Raise ``ParamsError`` for the first unknown, missing or invalid key in ``sections``."""
    if not isinstance(params, dict):
        raise ParamsError("params file must hold a mapping of sections")
    wanted = list(sections) if sections is not None else list(SCHEMA)
    for section in params:
        if section not in SCHEMA:
            raise ParamsError(_unknown(section, list(SCHEMA)))
    _check_groups(params, SCHEMA)
    flat = _flatten({s: params.get(s, {}) for s in params})
    for key in flat:
        if key not in _SCHEMA_FLAT:
            raise ParamsError(_unknown(key, list(_SCHEMA_FLAT)))
    for key, spec in _SCHEMA_FLAT.items():
        if key.split(".")[0] not in wanted:
            continue
        if key not in flat:
            raise ParamsError(f"params key '{key}' is missing")
        spec.check(key, flat[key])
    for low, high in _ORDERED:
        if low.split(".")[0] in wanted and flat[low] > flat[high]:
            raise ParamsError(f"params key '{low}' ({flat[low]}) must not exceed '{high}' ({flat[high]})")


def _check_groups(tree: dict[str, Any], schema: dict[str, Any], prefix: str = "") -> None:
    """A key the schema nests (``augment``, ``augment.gain``) must hold a mapping, not a value."""
    for key, value in tree.items():
        if isinstance(schema.get(key), dict):
            if not isinstance(value, dict):
                raise ParamsError(f"params key '{prefix}{key}' must be a mapping of keys, got {value!r}")
            _check_groups(value, schema[key], f"{prefix}{key}.")


def _unknown(key: str, known: list[str]) -> str:
    section, _, rest = key.partition(".")
    if section in RENAMED_SECTIONS:
        renamed = ".".join(filter(None, (RENAMED_SECTIONS[section], rest)))
        return f"unknown params key '{key}': section '{section}' is now '{RENAMED_SECTIONS[section]}' ('{renamed}')"
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown params key '{key}'{hint}"


def load(path: str | Path = "params.yaml", sections: Iterable[str] | None = None) -> dict[str, Any]:
    """Safe-load ``path`` and validate the sections a stage reads."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"params file '{path}' not found")
    try:
        with path.open() as handle:
            params = yaml.safe_load(handle) or {}  # safe: YAML tags cannot build Python objects
    except yaml.YAMLError as error:
        detail = " ".join(str(error).split())  # one line
        raise ParamsError(f"params file '{path}' is not valid YAML: {detail}") from None
    validate(params, sections)
    return params


def apply_overrides(params: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``params`` with dotted-key ``overrides`` applied, validated like ``dvc exp run -S``."""
    import copy

    result = copy.deepcopy(params)
    for dotted, value in overrides.items():
        if dotted not in _SCHEMA_FLAT:
            raise ParamsError(_unknown(dotted, list(_SCHEMA_FLAT)))
        *parents, leaf = dotted.split(".")
        node = result
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    validate(result)
    return result

