"""Singer enrolment: standardise a clip's features by other recordings of the same singer.

Singers differ in voice far more than one singer's emotions differ from each other, so a
feature vector says more once it is read against the singer's own range. Each clip is
standardised by the mean and standard deviation of its *enrolment set*: other clips by
the same singer, never the clip's own recording group (so never the scored take nor its
twin take), labels never read. The same transform serves a training clip, a test clip
and, at use time, a new singer who sings a few takes first.

Modes (``functionals_model.enrolment``):

* ``none``: features as extracted.
* ``other_statement``: every take by the singer of the other statements (songs).
* ``other_takes``: ``functionals_model.enrolment_takes`` of the singer's takes from other recording
  groups, drawn per clip with a seed derived from ``functionals_model.seed`` and the clip id
  (0: all of them).

``functionals_model.enrolment_emotions`` (a list; empty: any) restricts either set to takes sung
with those emotions, as when a singer is asked for a few neutral takes: an unbalanced set,
where an actor's whole balanced repertoire would flatter enrolment. Only the emotions of
the enrolment takes are read, to choose them, never the scored clip's.

``functionals_model.enrolment_statements`` (a list of song numbers or names; empty: any)
restricts either set to takes of those statements (songs). Cross-song protocols use it to
enrol from the training song only, as a singer who enrols with a known song and is then
scored on a new one: no take of the test song enters any clip's set, a training clip's
included (``other_takes`` with ``[1]`` on ``split.train_statement: 1``).

``functionals_model.enrolment_match_emotion`` (enthusiasm only) adds a second copy of the
features, centred by the takes of the enrolment set sung with the *same emotion* as the
scored take (all of the set when none is). Intensity is relative to the emotion: a strong
sad take is quieter than a normal angry one, so the singer's own takes of that emotion are
the yardstick. No emotion label of a scored take is read: ``feature_models`` predicts it
with an emotion model fitted on the training clips (its penalty chosen on the validation
clips), and does the same for the enrolment takes of every val and test clip's singer (a
training clip's labels are training data); ``predict`` predicts the emotion of the scored
take and of every enrolment take.

``functionals_model.enrolment_scale`` says what is removed: ``standardise`` subtracts the
set's mean and divides by its standard deviation; ``centre`` only subtracts the mean. A
few takes estimate a mean far better than a spread, so small sets may do better centred
(results/ has both). With one clip in the set only its mean is removed either way; a
feature the set leaves undefined (NaN, or no clip at all) is left as it is, and the
model's imputer fills it.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from singaffect.compute import derive_seed
from singaffect.errors import SingaffectError
from singaffect.splits import speaker_key

MODES = ("none", "other_statement", "other_takes")
SCALES = ("standardise", "centre")


class EnrolmentError(SingaffectError, ValueError):
    """The enrolment params do not fit the corpus; names the params key."""


@dataclass(frozen=True)
class Enrolment:
    mode: str = "none"
    takes: int = 0  # other_takes: clips per enrolment set (0: every eligible clip)
    seed: int = 0
    emotions: tuple[str, ...] = ()  # enrol only takes sung with these emotions (empty: any)
    scale: str = "standardise"  # standardise (mean and sd of the set) | centre (its mean only)
    statements: tuple[str, ...] = ()  # enrol only takes of these statements / songs (empty: any)
    match_emotion: bool = False  # enthusiasm: add the features centred by the set's takes of the clip's emotion

    def describe(self) -> dict[str, object]:
        """What ``metrics/functionals_model.json`` records of the enrolment (the scale only when centred)."""
        described: dict[str, object] = {"mode": self.mode}
        if self.mode == "other_takes":
            described["takes"] = self.takes or "all"
        if self.emotions:
            described["emotions"] = list(self.emotions)
        if self.statements:
            described["statements"] = sorted(speaker_key(s) for s in self.statements)
        if self.scale != "standardise":
            described["scale"] = self.scale
        if self.match_emotion:
            described["match_emotion"] = True
        return described


def enrolment_sets(manifest: Sequence[dict[str, str]], enrolment: Enrolment) -> list[np.ndarray]:
    """For each manifest row, the row indices of its enrolment set (sorted; empty for ``none``)."""
    if enrolment.mode not in MODES:
        raise EnrolmentError(f"params key functionals_model.enrolment: unknown mode {enrolment.mode!r} (choose from {list(MODES)})")
    if enrolment.mode == "none":
        return [np.array([], dtype=np.int64) for _ in manifest]
    if enrolment.emotions:
        known = {row.get("emotion", "") for row in manifest} - {""}
        unknown = sorted(set(enrolment.emotions) - known)
        if unknown:
            raise EnrolmentError(f"params key functionals_model.enrolment_emotions: no clip is sung with {unknown} "
                                 f"(emotions: {sorted(known) or 'none, the corpus has scores only'})")
    songs = {speaker_key(s) for s in enrolment.statements}
    if songs:
        present = {speaker_key(row["statement"]) for row in manifest}
        if songs - present:
            raise EnrolmentError(f"params key functionals_model.enrolment_statements: no clip has statement/song "
                                 f"{', '.join(sorted(songs - present))} (songs: {', '.join(sorted(present))})")
    by_speaker: dict[str, list[int]] = {}
    for i, row in enumerate(manifest):
        if enrolment.emotions and row.get("emotion") not in enrolment.emotions:
            continue
        if songs and speaker_key(row["statement"]) not in songs:
            continue
        by_speaker.setdefault(speaker_key(row["speaker"]), []).append(i)
    sets = []
    for row in manifest:
        same_singer = by_speaker.get(speaker_key(row["speaker"]), [])
        if enrolment.mode == "other_statement":
            chosen = [j for j in same_singer
                      if speaker_key(manifest[j]["statement"]) != speaker_key(row["statement"])]
        else:
            eligible = sorted((j for j in same_singer if manifest[j]["group"] != row["group"]),
                              key=lambda j: manifest[j]["clip_id"])  # the draw ignores manifest order
            chosen = eligible
            if enrolment.takes and len(eligible) > enrolment.takes:
                rng = np.random.default_rng(derive_seed("enrolment", enrolment.seed, row["clip_id"]))
                chosen = [eligible[k] for k in rng.choice(len(eligible), enrolment.takes, replace=False)]
        sets.append(np.array(sorted(chosen), dtype=np.int64))
    return sets


def normalise(x: np.ndarray, manifest: Sequence[dict[str, str]], enrolment: Enrolment) -> np.ndarray:
    """``x`` (one row per manifest row) with each row standardised (or centred) by its enrolment set's statistics."""
    if enrolment.scale not in SCALES:
        raise EnrolmentError(f"params key functionals_model.enrolment_scale: unknown scale {enrolment.scale!r} "
                             f"(choose from {list(SCALES)})")
    if enrolment.mode == "none":
        return x
    out = np.array(x, dtype=np.float64, copy=True)
    for i, members in enumerate(enrolment_sets(manifest, enrolment)):
        if len(members):
            out[i] = scale_by_set(out[i], x[members], enrolment.scale)
    return out.astype(x.dtype)


def scale_by_set(row: np.ndarray, enrolled: np.ndarray, scale: str) -> np.ndarray:
    """``row`` (float64) less the mean of ``enrolled`` (one row per enrolment take), divided by their sd for
    ``standardise`` with two takes or more; what training, evaluation and ``predict --enrol`` all apply."""
    if scale not in SCALES:
        raise EnrolmentError(f"params key functionals_model.enrolment_scale: unknown scale {scale!r} "
                             f"(choose from {list(SCALES)})")
    rows = np.asarray(enrolled, dtype=np.float64)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: left as they are below
        mean = np.nanmean(rows, axis=0)
        spread = len(rows) > 1 and scale == "standardise"
        std = np.nanstd(rows, axis=0) if spread else np.ones(rows.shape[1])
    mean = np.where(np.isfinite(mean), mean, 0.0)
    std = np.where(np.isfinite(std) & (std > 1e-12), std, 1.0)
    return (np.asarray(row, dtype=np.float64) - mean) / std


def centre_by_emotion(row: np.ndarray, enrolled: np.ndarray, enrolled_emotions: np.ndarray, emotion: int) -> np.ndarray:
    """``row`` less the mean of the ``enrolled`` takes whose emotion (class index) is ``emotion``; of all of them when
    none is (``enrolment_match_emotion``: the same rule in training, evaluation and ``predict``)."""
    enrolled = np.asarray(enrolled, dtype=np.float64)
    matching = np.asarray(enrolled_emotions) == emotion
    return scale_by_set(row, enrolled[matching] if matching.any() else enrolled, "centre")


def emotion_matched(x: np.ndarray, sets: Sequence[np.ndarray], emotion_of: np.ndarray) -> np.ndarray:
    """Each row of ``x`` centred by the members of its enrolment set (``enrolment_sets``) sung with its emotion
    (``emotion_of``: a class index per row, true or predicted; ``centre_by_emotion``). Rows with an empty set stay."""
    out = np.array(x, dtype=np.float64, copy=True)
    for i, members in enumerate(sets):
        if len(members):
            out[i] = centre_by_emotion(x[i], x[members], emotion_of[members], emotion_of[i])
    return out.astype(x.dtype)


# --- the CNN: a singer's mean log-mel spectrum subtracted from every frame (train.enrolment) ------

def spectral_offsets(band_means: np.ndarray, originals: Sequence[dict[str, str]], rows: Sequence[dict[str, str]],
                     enrolment: Enrolment) -> np.ndarray:
    """For each of ``rows``, the mean of ``band_means`` over its clip's enrolment set: ``(len(rows), n_mels)``.

    ``originals`` holds one manifest row per recording (copy 0) and ``band_means`` each one's
    log-mel averaged over time (``(len(originals), n_mels)``, dB). ``rows`` may be any manifest
    rows, augmented copies included: each is found in ``originals`` by its clip id, so every
    copy of a clip is read against the same takes as its original, and the clip's own
    recording group never is. A clip with an empty set gets zeros (nothing removed).
    Subtracting this from each frame removes the singer's average spectrum (their voice and
    microphone, in dB) and leaves how this take departs from it: the CNN's form of enrolment.
    """
    band_means = np.asarray(band_means, dtype=np.float64)
    if enrolment.mode == "none":
        return np.zeros((len(rows), band_means.shape[1]))
    position = {row["clip_id"]: i for i, row in enumerate(originals)}
    missing = sorted({row["clip_id"] for row in rows} - position.keys())
    if missing:
        raise EnrolmentError(f"train.enrolment: clips {missing[:3]} have no original (copy 0) row to enrol from")
    per_clip = np.zeros_like(band_means)
    for i, members in enumerate(enrolment_sets(originals, enrolment)):
        if len(members):
            per_clip[i] = band_means[members].mean(axis=0)
    return per_clip[[position[row["clip_id"]] for row in rows]]
