"""Corpus adapters: turn a folder of recordings into a table of clips with labels.

Three layouts plug in through ``data.corpus`` without code changes:

* ``ravdess`` -- RAVDESS file names ``MM-VV-EE-II-SS-RR-AA`` carry every label;
* ``evaluation_txt`` -- a lab manifest of ``filename score`` lines (scores 0..score_max);
* ``csv`` -- a manifest with columns ``path,speaker,song,target`` (optional ``group``).

Every clip carries its recording group (``Clip.group``): the takes of one line sung one
way by one singer, which honest splits never separate.

Every manifest path must stay inside the corpus root; labels outside the known
sets are errors that name the file. A problem with one file is a ``ClipError``
(path + reason): ``list_clips`` raises it, or, given a ``rejected`` list
(``data.on_error: skip``), records it there and leaves the file out.
"""
from __future__ import annotations

import csv
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from singaffect.errors import FileRejected, SingaffectError

AUDIO_SUFFIXES = (".flac", ".wav", ".ogg", ".aiff", ".aif")

EMOTIONS = ("neutral", "calm", "happy", "sad", "angry", "fearful")
RAVDESS_EMOTION_CODES = {f"{i + 1:02d}": name for i, name in enumerate(EMOTIONS)}
RAVDESS_INTENSITY_CODES = {"01": "normal", "02": "strong"}
STATEMENTS = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}


class CorpusError(SingaffectError, ValueError):
    """The corpus layout or a label is wrong; the message names the file."""


class ClipError(CorpusError, FileRejected):
    """One listed file cannot become a clip (name, label, path or duplicate id)."""


@dataclass(frozen=True)
class Clip:
    """One source recording and its labels, as written to ``manifest.csv``."""

    clip_id: str
    path: str          # relative to the corpus root
    speaker: str
    gender: str
    statement: str     # RAVDESS statement, or the song of a private corpus
    repetition: str
    emotion: str       # one of EMOTIONS, or "" when the corpus has none
    intensity: str     # normal | strong | "" (private corpora)
    enthusiasm: float  # regression target in [0, 1]
    group: str         # recording group: one singer, one line/song, one condition, all takes and parts


def recording_group(speaker: str, statement: str, *condition: str) -> str:
    """The key shared by every take (and part) of one line sung one way by one singer.

    Takes of a group are near-duplicates (RAVDESS repetitions 01/02, lab takes h1/h2 and
    their parts), so an honest split keeps a whole group on one side.
    """
    return "|".join((speaker, statement, *condition))


MANIFEST_COLUMNS = tuple(f.name for f in fields(Clip))


def parse_ravdess_name(name: str) -> dict[str, str | float]:
    """Labels of a RAVDESS song file name, e.g. ``03-02-05-02-01-01-12.flac``."""
    stem = Path(name).name.split(".")[0]
    parts = stem.split("-")
    if len(parts) != 7 or not all(re.fullmatch(r"\d\d", p) for p in parts):
        raise ClipError(name, "not a RAVDESS name MM-VV-EE-II-SS-RR-AA")
    modality, channel, emotion, intensity, statement, repetition, actor = parts
    if modality != "03":
        raise ClipError(name, f"modality {modality} is not audio-only (03)")
    if channel != "02":
        raise ClipError(name, f"vocal channel {channel} is not song (02)")
    if emotion not in RAVDESS_EMOTION_CODES:
        raise ClipError(name, f"unknown emotion code {emotion} (song has 01-06)")
    if intensity not in RAVDESS_INTENSITY_CODES:
        raise ClipError(name, f"unknown intensity code {intensity}")
    if emotion == "01" and intensity == "02":
        raise ClipError(name, "neutral has no strong intensity in RAVDESS")
    if statement not in STATEMENTS:
        raise ClipError(name, f"unknown statement code {statement}")
    if repetition not in ("01", "02"):
        raise ClipError(name, f"unknown repetition code {repetition}")
    if not 1 <= int(actor) <= 24:
        raise ClipError(name, f"unknown actor {actor}")
    return {
        "speaker": actor,
        "gender": "male" if int(actor) % 2 else "female",
        "statement": statement,
        "repetition": repetition,
        "emotion": RAVDESS_EMOTION_CODES[emotion],
        "intensity": RAVDESS_INTENSITY_CODES[intensity],
        "enthusiasm": 1.0 if intensity == "02" else 0.0,
        "group": recording_group(actor, statement, RAVDESS_EMOTION_CODES[emotion], RAVDESS_INTENSITY_CODES[intensity]),
    }


# Lab recordings (the seed's Evaluation.txt lists both layouts):
#   long  ``l_f01_elly_h1_e3_nm30.wav``: prefix, singer f01, song "elly", style+take "h1",
#         part "e3", then fields we do not interpret ("nm30");
#   short ``m11fn2_4.wav``: singer m11, song letter "f", style "n", take 2, part 4.
# Style letters: h = sung with enthusiasm, n = normal (inferred from the seed's scores, where
# h takes score higher); anything else is kept unknown (""). Parts 1-4 of one take share a
# recording, so they share singer, song, style and take.
_LAB_LONG = re.compile(r"^[a-z]+_(?P<singer>[mf]\d+)_(?P<song>[a-z]+)(?:_(?P<rest>.*))?$", re.I)
_LAB_SHORT = re.compile(r"^(?P<singer>[mf]\d+)(?P<song>[a-z])(?P<style>[a-z])(?P<take>\d+)_(?P<part>\d+)$", re.I)
_LAB_STYLE_TAKE = re.compile(r"^(?P<style>[a-z])(?P<take>\d+)$", re.I)
_LAB_PART = re.compile(r"^e(?P<part>\d+)$", re.I)
LAB_STYLES = {"h": "enthusiastic", "n": "normal"}


def _number(text: str | None) -> str:
    return str(int(text)) if text else ""


def parse_lab_name(name: str) -> dict[str, str]:
    """Singer, gender, song, style, take and part of a lab file name; unknown fields are ``""``.

    ``repetition`` is the take, so parts of one take are told apart only by ``part``.
    """
    stem = Path(name).stem
    fields = {"speaker": "", "gender": "", "statement": "", "repetition": "", "style": "", "part": ""}
    short, long = _LAB_SHORT.match(stem), _LAB_LONG.match(stem)
    match = short or long
    if not match:
        return fields
    singer = match["singer"].lower()
    fields.update(speaker=singer, gender={"m": "male", "f": "female"}[singer[0]], statement=match["song"].lower())
    if short:
        style, take, part = short["style"], short["take"], short["part"]
    else:
        style = take = part = None
        for token in (long["rest"] or "").split("_"):
            style_take, part_match = _LAB_STYLE_TAKE.match(token), _LAB_PART.match(token)
            if part_match and part is None:
                part = part_match["part"]
            elif style_take and style is None and style_take["style"].lower() in LAB_STYLES:
                style, take = style_take["style"], style_take["take"]
    fields.update(style=LAB_STYLES.get((style or "").lower(), ""), repetition=_number(take), part=_number(part))
    return fields


def _inside_root(root: Path, relative: str, where: str = "") -> Path:
    """Resolve ``relative`` under ``root`` and refuse anything that escapes it.

    ``where`` (e.g. `` (Evaluation.txt line 3)``) tells which manifest line named the file.
    """
    try:
        resolved = (root / relative).resolve()  # follows symlinks; a loop raises
    except (RuntimeError, OSError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise ClipError(relative, f"cannot resolve the path ({reason}){where}") from None
    if not resolved.is_relative_to(root.resolve()):  # before existence: never probe outside the root
        raise ClipError(relative, f"path escapes the corpus root {root}{where}")
    if not resolved.exists():
        raise ClipError(relative, f"file does not exist under {root}{where}")
    if not resolved.is_file():
        raise ClipError(relative, f"not a file{where}")
    return resolved


def _clip_id(relative: str) -> str:
    return str(Path(relative).with_suffix("")).replace("\\", "/").replace("/", "__")


def _reject(error: ClipError, rejected: list[ClipError] | None) -> None:
    """The one place the ``data.on_error`` policy applies to listing: raise or record."""
    if rejected is None:
        raise error
    rejected.append(error)


def _check_unique(clips: list[Clip], rejected: list[ClipError] | None) -> list[Clip]:
    """Clips with unique ids; a later file with an id already taken is rejected."""
    seen: dict[str, str] = {}
    unique = []
    for clip in clips:
        if clip.clip_id in seen:
            _reject(ClipError(clip.path, f"duplicate clip id '{clip.clip_id}' (also {seen[clip.clip_id]})"),
                    rejected)
            continue
        seen[clip.clip_id] = clip.path
        unique.append(clip)
    return unique


def list_ravdess(root: Path, rejected: list[ClipError] | None = None) -> list[Clip]:
    """All RAVDESS song files under ``root``, sorted by path, labelled from their names."""
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise CorpusError(f"{root}: no audio files ({', '.join(AUDIO_SUFFIXES)}) found")
    clips = []
    for path in files:
        relative = path.relative_to(root).as_posix()
        try:
            labels = parse_ravdess_name(relative)
            _inside_root(root, relative)
        except ClipError as error:
            _reject(error, rejected)
            continue
        clips.append(Clip(clip_id=path.stem, path=relative, **labels))
    return _check_unique(clips, rejected)


def _private_clip(root: Path, relative: str, speaker: str, song: str, score: float,
                  score_max: float, where: str, group: str = "") -> Clip:
    """A clip of a private corpus; its recording group is ``group`` if the manifest gives one,
    else singer | song | style parsed from a lab name (every take and part of one condition).
    Without a parsed style, all takes of a singer's song form one group: coarser, never leaky.
    A file with no known singer is its own group (nothing tells its takes apart)."""
    _inside_root(root, relative, where)
    if not 0.0 <= score <= score_max:
        raise ClipError(relative, f"score {score} is outside 0..{score_max}{where}")
    parsed = parse_lab_name(relative)
    speaker, song = speaker or parsed["speaker"], song or parsed["statement"]
    return Clip(
        clip_id=_clip_id(relative), path=relative,
        speaker=speaker, gender=parsed["gender"],
        statement=song, repetition=parsed["repetition"],
        emotion="", intensity="", enthusiasm=score / score_max,
        group=group or (recording_group(speaker, song, parsed["style"]) if speaker else _clip_id(relative)),
    )


def list_evaluation_txt(root: Path, manifest: Path, score_max: float,
                        rejected: list[ClipError] | None = None) -> list[Clip]:
    """Clips of a lab ``Evaluation.txt``: one ``filename score`` pair per line."""
    clips, listed = [], 0
    for number, line in enumerate(manifest.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        listed += 1
        where = f" ({manifest} line {number})"
        parts = line.split()
        try:
            if len(parts) != 2:
                raise ClipError(f"{manifest}:{number}", f"expected 'filename score', got {line!r}")
            try:
                score = float(parts[1])
            except ValueError:
                raise ClipError(parts[0], f"score {parts[1]!r} is not a number{where}") from None
            clips.append(_private_clip(root, parts[0], "", "", score, score_max, where))
        except ClipError as error:
            _reject(error, rejected)
    if not listed:
        raise CorpusError(f"{manifest}: no clips listed")
    return _check_unique(clips, rejected)


def list_csv(root: Path, manifest: Path, score_max: float, rejected: list[ClipError] | None = None) -> list[Clip]:
    """Clips of a CSV manifest with columns ``path,speaker,song,target`` and an optional ``group``
    (takes that must stay on one side; default: singer | song | style of a lab name)."""
    with manifest.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"path", "speaker", "song", "target"} - set(reader.fieldnames or [])
        if missing:
            raise CorpusError(f"{manifest}: missing columns {sorted(missing)}")
        clips, listed = [], 0
        for number, row in enumerate(reader, start=2):
            listed += 1
            where = f" ({manifest} line {number})"
            try:
                if None in row.values():
                    raise ClipError(f"{manifest}:{number}", "row has fewer columns than the header")
                try:
                    score = float(row["target"])
                except ValueError:
                    raise ClipError(row["path"], f"target {row['target']!r} is not a number{where}") from None
                clips.append(_private_clip(root, row["path"], row["speaker"], row["song"], score, score_max, where,
                                           (row.get("group") or "").strip()))
            except ClipError as error:
                _reject(error, rejected)
    if not listed:
        raise CorpusError(f"{manifest}: no clips listed")
    return _check_unique(clips, rejected)


def list_clips(corpus: str, root: str | Path, manifest: str = "", score_max: float = 2.0,
               rejected: list[ClipError] | None = None) -> list[Clip]:
    """The clips of a corpus, in a stable order, with labels checked.

    A file that cannot become a clip raises ``ClipError``; when a ``rejected`` list
    is given (``data.on_error: skip``) it is appended there and listing goes on.
    Problems with the corpus as a whole (no folder, no manifest) always raise.
    """
    root = Path(root)
    if not root.is_dir():
        raise CorpusError(f"corpus folder '{root}' (params key data.root) does not exist")
    if corpus == "ravdess":
        return list_ravdess(root, rejected)
    if not manifest:
        raise CorpusError(f"params key data.manifest must name the manifest of a '{corpus}' corpus")
    manifest_path = root / manifest
    try:
        _inside_root(root, manifest)  # the manifest too lives inside the corpus
    except ClipError as error:
        raise CorpusError(f"manifest '{manifest_path}' (params key data.manifest): {error.reason}") from None
    if corpus == "evaluation_txt":
        return list_evaluation_txt(root, manifest_path, score_max, rejected)
    if corpus == "csv":
        return list_csv(root, manifest_path, score_max, rejected)
    raise CorpusError(f"unknown corpus '{corpus}' (params key data.corpus)")


def write_manifest(path: Path, rows: Iterable[dict], columns: Sequence[str] | None = None) -> None:
    """Write rows as CSV with a fixed column order (byte-stable)."""
    rows = list(rows)
    columns = list(columns or (rows[0] if rows else MANIFEST_COLUMNS))
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def read_manifest(path: Path) -> list[dict[str, str]]:
    """Rows of a manifest CSV as dicts of strings."""
    with Path(path).open(newline="") as handle:
        return list(csv.DictReader(handle))


def clip_row(clip: Clip) -> dict:
    return asdict(clip)


class TargetError(SingaffectError, ValueError):
    """The corpus has no labels for the requested task."""


def targets_for_task(rows: Sequence[dict[str, str]], task: str) -> np.ndarray:
    """Class indices (emotion) or scores in [0, 1] (enthusiasm) for manifest rows."""
    if task == "emotion":
        unknown = sorted({r["emotion"] for r in rows} - set(EMOTIONS))
        if unknown:
            raise TargetError(f"params key train.task=emotion: clips have emotion labels {unknown} "
                              f"outside {list(EMOTIONS)} (a private corpus has no emotion labels)")
        return np.array([EMOTIONS.index(r["emotion"]) for r in rows], dtype=np.int32)
    if task == "enthusiasm":
        return np.array([float(r["enthusiasm"]) for r in rows], dtype=np.float32)
    raise TargetError(f"params key train.task: unknown task {task!r}")
