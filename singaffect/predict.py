"""Score a take of any length with a trained model: the CNN window by window, or the feature model on the whole take.

The model sees exactly what the pipeline fed it: the take is decoded by
``audio_io.load_mono`` at the training rate, cut into windows of ``pad_seconds``,
each made that long by ``pad.pad_or_trim`` and rounded through the dtype the
padded audio was stored in, turned into log-mel by ``logmel.log_mel`` and rounded
through the dtype mel.h5 stored. The model holds
its own normalisation, so ``preprocessing.json`` beside it is all that travels along. A CNN
trained with singer enrolment (``train.enrolment``) has the mean log-mel spectrum of the
singer's takes in ``--enrol FOLDER`` subtracted from every frame, computed as training
computed it (``singer_spectrum``).

The feature model (``models/functionals_model.h5``, ``feature_model_file``) scores the whole
take from its functionals, computed as the pipeline computes them (``audio_io.load_mono``
at the training rate, ``functionals.functionals``, stored as float32 with NaN for
non-finite values). A model trained with singer enrolment reads the singer's takes in
``--enrol FOLDER`` and scales the take by them exactly as training did
(``enrolment.scale_by_set``); the scored take itself never enters its enrolment set.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from singaffect import (audio_io, calibration, corpus, enrolment, feature_model_file, feature_models, feature_table,
                        functionals, logmel, pad, preprocessing, storage)
from singaffect.errors import SingaffectError

WINDOWS_PER_BATCH = 32  # bounds memory on hour-long takes
SILENT = "silent"


class PredictError(SingaffectError, ValueError):
    """The model or its preprocessing cannot be used; the message names the file."""


def model_file(model_path: str | Path) -> Path:
    """``model_path`` if it is a file, else a ``PredictError`` that says how to get one."""
    path = Path(model_path)
    if not path.is_file():
        raise PredictError(f"{path}: model file not found (run `dvc repro train` or pass --model)")
    return path


def load_model(model_path: str | Path) -> Any:
    """The Keras model at ``model_path`` through ``models.load_model`` (``safe_mode``)."""
    path = model_file(model_path)
    from singaffect import models  # deferred: a bad audio file is reported before Keras spends seconds loading

    return models.load_model(path)


def window_starts(total: int, window: int, hop: int) -> list[int]:
    """Sample offsets of windows that cover ``total`` samples; the last one ends at the end.

    A take no longer than one window gets a single window (padded like the pipeline).
    """
    if total <= window:
        return [0]
    starts = list(range(0, total - window + 1, hop))
    if starts[-1] + window < total:
        starts.append(total - window)
    return starts


@dataclass
class TakeScores:
    """Per-window model output for one take; ``scores`` is (windows,) or (windows, classes).

    Silent windows (``status`` ``"silent"``) are not scored: their scores are NaN and they
    stay out of the take's mean.
    """

    path: str
    task: str
    classes: tuple[str, ...]
    duration: float
    window: float
    hop: float
    starts: np.ndarray
    ends: np.ndarray
    scores: np.ndarray
    status: np.ndarray  # "ok" or "silent" per window
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def scored(self) -> np.ndarray:
        return self.status == "ok"

    def mean(self) -> np.ndarray:
        """Mean over the scored windows: the take's score, or its mean class probabilities."""
        return self.scores[self.scored].mean(axis=0)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (what ``--json`` prints)."""
        def entry(values: np.ndarray) -> dict[str, Any]:
            if self.task == "enthusiasm":
                return {"enthusiasm": round(float(values), 6)}
            probabilities = {c: round(float(p), 6) for c, p in zip(self.classes, values)}
            return {"emotion": self.classes[int(np.argmax(values))], "probabilities": probabilities}

        return {
            "file": self.path, "task": self.task, "duration_s": round(self.duration, 4),
            "window_s": round(self.window, 4), "hop_s": round(self.hop, 4), **self.extra,
            "windows": [{"start_s": round(float(a), 4), "end_s": round(float(b), 4), "status": str(status),
                         **(entry(s) if status == "ok" else {})}
                        for a, b, s, status in zip(self.starts, self.ends, self.scores, self.status)],
            "windows_scored": int(self.scored.sum()),
            "mean": entry(self.mean()),
        }


def scorable_windows(prep: preprocessing.Preprocessing, samples: np.ndarray, hop_seconds: float | None,
                     path: str = "") -> tuple[int, np.ndarray, np.ndarray]:
    """``(hop, starts, status)`` of the windows of ``samples``; a ``PredictError`` when none can be scored.

    Checked before the model is loaded, so silence costs no Keras start-up.
    """
    hop_seconds = prep.window_seconds / 2 if hop_seconds is None else hop_seconds
    if not hop_seconds > 0 or not math.isfinite(hop_seconds):
        raise PredictError(f"hop must be a positive number of seconds, got {hop_seconds}")
    rate, name = prep.sample_rate, path or "take"
    if len(samples) < prep.n_fft:
        raise PredictError(f"{name}: too short to score ({1000 * len(samples) / rate:.0f} ms; the model needs "
                           f"at least one {1000 * prep.n_fft / rate:.0f} ms analysis frame)")
    hop = max(1, int(round(hop_seconds * rate)))
    starts = np.asarray(window_starts(len(samples), prep.n_samples, hop))
    status = np.array(["ok" if audio_io.rms(samples[s:s + prep.n_samples]) >= prep.silence_rms else SILENT
                       for s in starts])
    if not (status == "ok").any():
        raise PredictError(f"{name}: silent (RMS below {prep.silence_rms:g}, the pipeline's data.silence_rms, in "
                           f"every window): nothing to score")
    return hop, starts, status


def window_mels(prep: preprocessing.Preprocessing, windows: Sequence[np.ndarray]) -> np.ndarray:
    """Log-mel rows of ``windows`` (float32), as the pad and mel stages store them: padded or cut
    to ``prep.n_samples``, rounded to the stored audio and mel dtypes."""
    batch = np.stack([pad.pad_or_trim(w, prep.n_samples)[0] for w in windows]).astype(prep.audio_dtype)
    mel = logmel.log_mel(batch.astype(np.float32), prep.sample_rate, prep.n_fft, prep.hop_length, prep.n_mels)
    return mel.astype(prep.mel_dtype).astype(np.float32)


def singer_spectrum(prep: preprocessing.Preprocessing, takes: Sequence[str | Path]) -> np.ndarray:
    """The mean log-mel spectrum of a singer's enrolment ``takes`` (``(n_mels,)`` float32), computed
    as training computed it: each take made one stored row (its first ``pad.seconds``), averaged
    over time, then over the takes (``enrolment.spectral_offsets``)."""
    band_means = np.stack([window_mels(prep, [audio_io.load_mono(t, prep.sample_rate)])[0].astype(np.float64)
                           .mean(axis=1) for t in takes])
    return band_means.mean(axis=0).astype(np.float32)


def score_samples(model: Any, prep: preprocessing.Preprocessing, samples: np.ndarray, hop_seconds: float | None = None,
                  path: str = "", offset: np.ndarray | None = None) -> TakeScores:
    """Score mono ``samples`` at ``prep.sample_rate`` in windows of ``prep.n_samples``.

    ``hop_seconds`` defaults to half a window. A window whose RMS is below
    ``prep.silence_rms`` is marked silent and not scored; a take shorter than one STFT
    frame, or silent throughout, is a ``PredictError``: there is nothing to score.
    ``offset`` (a model trained with ``train.enrolment``: ``singer_spectrum``) is subtracted from
    every frame. Enthusiasm scores go through the model's validation-fitted calibration.
    """
    rate = prep.sample_rate
    hop, starts, status = scorable_windows(prep, samples, hop_seconds, path)
    scored = starts[status == "ok"]
    outputs = []
    for a, b in storage.chunk_ranges(len(scored), WINDOWS_PER_BATCH):
        mel = window_mels(prep, [samples[s:s + prep.n_samples] for s in scored[a:b]])
        if offset is not None:
            mel -= np.asarray(offset, dtype=np.float32)[None, :, None]
        outputs.append(np.asarray(model.predict(mel[..., None], verbose=0), dtype=np.float64))
    values = np.concatenate(outputs)
    if prep.task == "enthusiasm":
        values = calibration.apply(prep.calibration, values.reshape(-1))
    scores = np.full((len(starts), *values.shape[1:]), np.nan)
    scores[status == "ok"] = values
    ends = np.minimum(starts + prep.n_samples, len(samples))
    return TakeScores(path=path, task=prep.task, classes=prep.classes, duration=len(samples) / rate,
                      window=prep.window_seconds, hop=hop / rate, starts=starts / rate, ends=ends / rate,
                      scores=scores, status=status,
                      extra={"calibration": prep.calibration.get("method", "none")} if prep.task == "enthusiasm"
                      else {})


def predict_file(audio_path: str | Path, model_path: str | Path, hop_seconds: float | None = None,
                 enrol_folder: str | Path | None = None) -> TakeScores:
    """Decode ``audio_path`` (any rate, any channels) and score it with the CNN at ``model_path``.

    A CNN trained with singer enrolment (``train.enrolment``) needs ``enrol_folder``, a few
    takes by the same singer (the scored take is left out); one trained without refuses it.
    """
    prep = preprocessing.read(model_file(model_path))
    check_enrolment(model_path, prep.enrolment["mode"], enrol_folder, "train.enrolment")
    samples = audio_io.load_mono(audio_path, prep.sample_rate)
    scorable_windows(prep, samples, hop_seconds, str(audio_path))
    enrolled = enrolment_files(enrol_folder, audio_path) if enrol_folder is not None else []
    offset = singer_spectrum(prep, enrolled) if enrolled else None
    model = load_model(model_path)
    result = score_samples(model, prep, samples, hop_seconds, path=str(audio_path), offset=offset)
    result.extra["model"] = str(model_path)
    if enrolled:
        result.extra["enrolment"] = {**prep.enrolment, "takes_given": len(enrolled)}
    return result


def check_enrolment(model_path: str | Path, trained_with: str, enrol_folder: str | Path | None, key: str) -> None:
    """A model trained with singer enrolment needs ``--enrol``, one trained without refuses it, so a
    score always means what the metrics measured; ``key`` names the params key that decided it."""
    if trained_with != "none" and enrol_folder is None:
        raise PredictError(f"{model_path}: trained with singer enrolment ({trained_with}); pass --enrol FOLDER "
                           "with a few takes by the same singer")
    if trained_with == "none" and enrol_folder is not None:
        raise PredictError(f"--enrol: {model_path} was trained without singer enrolment ({key}: none)")


def format_table(result: TakeScores) -> str:
    """A fixed-width table: one line per window, then the mean."""
    silent = int((~result.scored).sum())
    head = (f"{result.path}: {result.duration:.2f} s, {len(result.starts)} window(s) of "
            f"{result.window:.2f} s, hop {result.hop:.2f} s, task {result.task}"
            + (f"; {silent} silent window(s) left out of the mean" if silent else ""))
    if result.task == "enthusiasm":
        lines = [f"{'start':>8} {'end':>8} {'enthusiasm':>11}"]
        lines += [f"{a:8.2f} {b:8.2f} {s:11.3f}" if ok else f"{a:8.2f} {b:8.2f} {SILENT:>11}"
                  for a, b, s, ok in zip(result.starts, result.ends, result.scores, result.scored)]
        lines.append(f"{'mean':>17} {float(result.mean()):11.3f}")
        return "\n".join([head, *lines])
    width = max(8, *(len(c) for c in result.classes))
    columns = "".join(f" {c:>{width}}" for c in result.classes)
    lines = [f"{'start':>8} {'end':>8} {'emotion':<{width}}{columns}"]
    for a, b, s, ok in zip(result.starts, result.ends, result.scores, result.scored):
        if not ok:
            lines.append(f"{a:8.2f} {b:8.2f} {SILENT:<{width}}")
            continue
        probabilities = "".join(f" {p:{width}.3f}" for p in s)
        lines.append(f"{a:8.2f} {b:8.2f} {result.classes[int(np.argmax(s))]:<{width}}{probabilities}")
    mean = result.mean()
    lines.append(f"{'mean':>17} {result.classes[int(np.argmax(mean))]:<{width}}"
                 + "".join(f" {p:{width}.3f}" for p in mean))
    return "\n".join([head, *lines])


# --- singer enrolment, and the feature model: one score per take ---------------------------------

def enrolment_files(folder: str | Path, scored: str | Path) -> list[Path]:
    """The audio files under ``folder`` (sorted), less the scored take; a ``PredictError`` when none is left."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PredictError(f"--enrol {folder}: not a folder of the singer's takes")
    scored_path = Path(scored).resolve()
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in corpus.AUDIO_SUFFIXES
                   and p.resolve() != scored_path)
    if not files:
        raise PredictError(f"--enrol {folder}: no audio files ({', '.join(corpus.AUDIO_SUFFIXES)}) other than the "
                           "scored take")
    return files


def score_with_features(audio_path: str | Path, model_path: str | Path,
                        enrol_folder: str | Path | None = None) -> dict[str, Any]:
    """Score the whole take at ``audio_path`` with the feature model at ``model_path`` (JSON-ready).

    A model trained with singer enrolment needs ``enrol_folder`` (a few takes by the same
    singer); one trained without refuses it, so a score always means what the metrics measured.
    """
    saved = feature_model_file.load(model_path)
    check_enrolment(model_path, saved.enrolment.get("mode", "none"), enrol_folder, "functionals_model.enrolment")
    enrolled = enrolment_files(enrol_folder, audio_path) if enrol_folder is not None else []
    settings = functionals.Settings(**saved.functionals)

    def features_of(path: str | Path) -> np.ndarray:
        samples = audio_io.load_mono(path, saved.sample_rate)
        return feature_table.stored_rows(functionals.functionals(samples, saved.sample_rate, settings)[None, :])[0]

    raw = features_of(audio_path)
    row = raw
    if enrolled:
        takes = np.stack([features_of(p) for p in enrolled])
        row = enrolment.scale_by_set(raw, takes, saved.enrolment.get("scale", "standardise"))
        if saved.enrolment.get("match_emotion"):
            row = np.concatenate([row, emotion_matched_row(saved, raw, row, takes)])
    x = np.asarray(row, dtype=saved.x_train.dtype)[None, :]
    prep, model = saved.fit()
    score = feature_models.penalised_scores(prep, model, saved.task, x)[0]
    result: dict[str, Any] = {"file": str(audio_path), "model": str(model_path), "feature_model": saved.model,
                              "task": saved.task, "enrolment": {**saved.enrolment, "takes_given": len(enrolled)}}
    if saved.task == "emotion":
        result["emotion"] = corpus.EMOTIONS[int(score)]
    else:
        result["enthusiasm"] = round(float(score), 6)
        if saved.threshold is not None:
            result["threshold"] = round(float(saved.threshold), 6)
            result["strong"] = bool(score >= saved.threshold)
    return result


def emotion_matched_row(saved: feature_model_file.SavedFeatureModel, raw: np.ndarray, enrolled_row: np.ndarray,
                        takes: np.ndarray) -> np.ndarray:
    """``enrolment_match_emotion``: the take's raw features centred by the enrolment ``takes`` whose predicted
    emotion is the take's own, as training did (``enrolment.centre_by_emotion``). Each enrolment take's
    emotion is predicted from its features scaled by the other enrolment takes (their labels are never asked for)."""
    scale = saved.enrolment.get("scale", "standardise")
    prep, model = saved.fit_emotion()
    scaled_takes = [enrolment.scale_by_set(takes[j], np.delete(takes, j, axis=0), scale)  # one take: left as it is
                    for j in range(len(takes))]
    predicted = feature_models.penalised_scores(prep, model, "emotion",
                                                np.stack([enrolled_row, *scaled_takes]).astype(saved.x_train.dtype))
    return enrolment.centre_by_emotion(raw, takes, predicted[1:], predicted[0])


def format_feature_result(result: dict[str, Any]) -> str:
    """Two lines: the take and model, then the emotion or the enthusiasm score (and decision)."""
    enrolled = result["enrolment"]["takes_given"]
    head = (f"{result['file']}: {result['feature_model']} on functionals, task {result['task']}"
            + (f", enrolled by {enrolled} take(s)" if enrolled else ""))
    if result["task"] == "emotion":
        return f"{head}\nemotion {result['emotion']}"
    line = f"enthusiasm {result['enthusiasm']:.3f}"
    if "strong" in result:
        line += f" ({'strong' if result['strong'] else 'normal'}; threshold {result['threshold']:.3f})"
    return f"{head}\n{line}"
