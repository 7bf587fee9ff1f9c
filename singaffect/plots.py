"""PNG figures a person looks at: log-mel examples and a take's score curve.

matplotlib is imported inside each function (Agg canvas, no pyplot state), so the
library imports without it. PNGs carry no software/version text and no timestamp,
so the same input gives the same bytes.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from singaffect.errors import SingaffectError


class PlotError(SingaffectError, RuntimeError):
    """A figure cannot be drawn (matplotlib missing); names what was asked for."""


def _figure(width: float, height: float):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotError("drawing PNG figures needs matplotlib (pip install -r requirements.txt)") from None
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path: Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", metadata={"Software": None})


def contrast_pair(rows: Sequence[dict[str, str]]) -> list[int]:
    """Row indices of a low and a high take of the same line, originals (copy 0) only.

    "The same line" is the same speaker, statement, repetition and emotion; in RAVDESS
    the two takes are the normal and the strong intensity. Of all such lines the first
    in manifest order is taken; ``[]`` when no line has two different targets.
    """
    groups: dict[tuple, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        if str(row.get("copy", "0")) == "0":
            groups[(row["speaker"], row["statement"], row["repetition"], row["emotion"])].append(index)
    for members in groups.values():
        scores = [float(rows[i]["enthusiasm"]) for i in members]
        if min(scores) < max(scores):
            return [members[int(np.argmin(scores))], members[int(np.argmax(scores))]]
    return []


def mel_examples(folder: Path, rows: Sequence[dict[str, str]], mel: Sequence[np.ndarray], sample_rate: int,
                 hop_length: int) -> list[Path]:
    """PNGs of the log-mel of a low and a high take of one line (``normal.png``/``strong.png``
    for RAVDESS, ``low.png``/``high.png`` otherwise), on one colour scale.

    ``mel[i]`` is the log-mel of manifest row ``i``; without any contrasting pair the
    first row is drawn alone as ``example.png``, so the folder is never empty.
    """
    pair = contrast_pair(rows)
    picked = pair or [0]
    names = ([rows[i]["intensity"] or role for i, role in zip(pair, ("low", "high"))] if pair else ["example"])
    spectra = [np.asarray(mel[i], dtype=np.float32) for i in picked]
    value_range = (min(float(s.min()) for s in spectra), max(float(s.max()) for s in spectra))
    paths = []
    for index, name, spectrum in zip(picked, names, spectra):
        row = rows[index]
        label = f"{row['intensity']} " if row["intensity"] else ""
        title = (f"{row['clip_id']}: {label}{row['emotion'] or 'take'}, speaker {row['speaker']}, "
                 f"enthusiasm {float(row['enthusiasm']):.2f}")
        path = Path(folder) / f"{name}.png"
        mel_example(path, spectrum, sample_rate, hop_length, title, value_range)
        paths.append(path)
    return paths


def mel_example(path: Path, log_mel: np.ndarray, sample_rate: int, hop_length: int, title: str,
                value_range: tuple[float, float]) -> None:
    """One log-mel spectrogram (dB) with time and mel-frequency axes and a colour bar.

    ``value_range`` is shared by the examples of one figure set so their colours compare.
    """
    import librosa.display

    figure = _figure(8, 4)
    axes = figure.add_subplot()
    image = librosa.display.specshow(np.asarray(log_mel, dtype=np.float32), ax=axes, sr=sample_rate,
                                     hop_length=hop_length, x_axis="time", y_axis="mel",
                                     vmin=value_range[0], vmax=value_range[1], cmap="magma")
    figure.colorbar(image, ax=axes, format="%+.0f dB")
    axes.set_title(title)
    _save(figure, path)


def score_curve(path: Path, result: Any) -> None:
    """The take's enthusiasm (or class probabilities) per window, against window centre time.

    ``result`` is a ``predict.TakeScores`` (not imported: the mel stage would depend on predict.py).
    """
    figure = _figure(8, 3.5)
    axes = figure.add_subplot()
    centres = (result.starts + result.ends) / 2
    for k, (start, end) in enumerate(zip(result.starts, result.ends)):  # silent windows: shaded, not scored
        if not result.scored[k]:
            axes.axvspan(start, end, color="lightgrey", alpha=0.5, label="silent (not scored)" if k == int(
                np.flatnonzero(~result.scored)[0]) else None)
    if result.task == "enthusiasm":
        axes.plot(centres, result.scores, marker="o", label="window")
        axes.axhline(float(result.mean()), linestyle="--", color="grey", label=f"mean {float(result.mean()):.3f}")
        axes.set_ylabel("enthusiasm")
    else:
        for k, name in enumerate(result.classes):
            axes.plot(centres, result.scores[:, k], marker="o", label=name)
        axes.set_ylabel("probability")
        axes.set_ylim(0, 1)
    axes.set_xlabel("time (s, window centre)")
    axes.set_xlim(0, max(result.duration, 1e-3))
    axes.set_title(f"{Path(result.path).name}: {result.window:.1f} s windows, hop {result.hop:.2f} s")
    axes.legend(loc="best", fontsize="small")
    _save(figure, path)
