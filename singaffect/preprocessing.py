"""``preprocessing.json``: how the pipeline turned audio into model input, saved beside each model.

The one owner of that file. The train stage writes it; ``evaluate`` and ``predict`` read it,
so a model carries its decoding, padding, log-mel settings, silence level and score
calibration with it, whatever ``params.yaml`` says later.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from singaffect import calibration, enrolment
from singaffect.errors import SingaffectError

FILE_NAME = "preprocessing.json"
REQUIRED_KEYS = ("sample_rate", "n_samples", "n_fft", "hop_length", "n_mels", "task", "classes")
DEFAULT_SILENCE_RMS = 0.0005  # params.yaml's data.silence_rms, for models saved before it was recorded


class PreprocessingError(SingaffectError, ValueError):
    """A ``preprocessing.json`` is missing or cannot be used; the message names the file."""


@dataclass(frozen=True)
class Preprocessing:
    """How the pipeline turned audio into model input (written by the train stage)."""

    sample_rate: int
    n_samples: int
    n_fft: int
    hop_length: int
    n_mels: int
    task: str
    classes: tuple[str, ...]
    model: str = ""
    mel_dtype: str = "float32"
    audio_dtype: str = "float32"
    silence_rms: float = DEFAULT_SILENCE_RMS  # windows quieter than this are not scored (data.silence_rms)
    calibration: dict[str, Any] = field(default_factory=lambda: dict(calibration.IDENTITY))
    enrolment: dict[str, Any] = field(default_factory=lambda: {"mode": "none"})  # train.enrolment (singer_enrolment)

    @property
    def window_seconds(self) -> float:
        return self.n_samples / self.sample_rate


def enrolment_record(mode: str, takes: int, seed: int) -> dict[str, Any]:
    """What ``preprocessing.json`` keeps of ``train.enrolment`` (and, for drawn takes, ``enrolment_takes``, ``seed``)."""
    if mode == "none":
        return {"mode": "none"}
    return {"mode": mode, "takes": int(takes), "seed": int(seed)}


def singer_enrolment(record: dict[str, Any]) -> enrolment.Enrolment:
    """The enrolment a model was trained with, from its ``enrolment_record`` (``Preprocessing.enrolment``):
    the sets ``enrolment.enrolment_sets`` draws, centred by their mean spectrum."""
    return enrolment.Enrolment(mode=record.get("mode", "none"), takes=int(record.get("takes", 0)),
                               seed=int(record.get("seed", 0)), scale="centre")


def read(model_path: str | Path) -> Preprocessing:
    """The ``preprocessing.json`` saved beside ``model_path``."""
    path = Path(model_path).with_name(FILE_NAME)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise PreprocessingError(f"{path}: not found (stages/train.py writes it beside the model)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PreprocessingError(f"{path}: cannot read ({error})") from None
    missing = [key for key in REQUIRED_KEYS if not isinstance(raw, dict) or key not in raw]
    if missing:
        raise PreprocessingError(f"{path}: missing keys {missing}")
    if raw["task"] not in ("emotion", "enthusiasm"):
        raise PreprocessingError(f"{path}: unknown task {raw['task']!r}")
    if raw["task"] == "emotion" and not raw["classes"]:
        raise PreprocessingError(f"{path}: task emotion needs a list of classes")
    for key in ("mel_dtype", "audio_dtype"):
        if raw.get(key, "float32") not in ("float16", "float32"):
            raise PreprocessingError(f"{path}: unknown {key} {raw[key]!r}")
    singer = raw.get("enrolment") or {"mode": "none"}
    if not isinstance(singer, dict) or singer.get("mode") not in enrolment.MODES:
        raise PreprocessingError(f"{path}: unknown enrolment {singer!r} (modes: {list(enrolment.MODES)})")
    return Preprocessing(sample_rate=int(raw["sample_rate"]), n_samples=int(raw["n_samples"]),
                         n_fft=int(raw["n_fft"]), hop_length=int(raw["hop_length"]), n_mels=int(raw["n_mels"]),
                         task=raw["task"], classes=tuple(raw["classes"]), model=str(raw.get("model", "")),
                         mel_dtype=raw.get("mel_dtype", "float32"), audio_dtype=raw.get("audio_dtype", "float32"),
                         silence_rms=float(raw.get("silence_rms", DEFAULT_SILENCE_RMS)),
                         calibration=raw.get("calibration") or dict(calibration.IDENTITY), enrolment=singer)


def write(path: str | Path, fields: dict[str, Any]) -> None:
    """Write ``fields`` as ``path`` (a file named ``FILE_NAME``), refusing one ``read`` would not accept."""
    missing = [key for key in REQUIRED_KEYS if key not in fields]
    if missing:
        raise PreprocessingError(f"{path}: missing keys {missing}")
    Path(path).write_text(json.dumps(fields, indent=2) + "\n")
