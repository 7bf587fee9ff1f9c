"""Figures: mel example PNGs, and dvc.yaml's plot definitions rendered by the real `dvc plots show`."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from singaffect import plots
import tinyrepo
from tinyrepo import PROJECT as ROOT, run_dvc as dvc

PNG = b"\x89PNG\r\n\x1a\n"


def row(clip_id: str, speaker: str, intensity: str, enthusiasm: float, copy: int = 0, emotion: str = "happy",
        statement: str = "01", repetition: str = "01") -> dict[str, str]:
    return {"clip_id": clip_id, "speaker": speaker, "statement": statement, "repetition": repetition,
            "emotion": emotion, "intensity": intensity, "enthusiasm": str(enthusiasm), "copy": str(copy)}


def test_contrast_pair_is_a_normal_and_a_strong_original_of_one_line() -> None:
    rows = [
        row("a-normal", "01", "normal", 0.0, emotion="neutral"),           # neutral has no strong take
        row("b-strong-copy", "01", "strong", 1.0, copy=1, emotion="sad"),  # augmented copies never count
        row("b-normal", "01", "normal", 0.0, emotion="sad"),
        row("c-strong", "02", "strong", 1.0, statement="02"),              # other line
        row("c-normal", "02", "normal", 0.0, statement="01"),
        row("d-strong", "03", "strong", 1.0),
        row("d-normal", "03", "normal", 0.0),
    ]
    assert plots.contrast_pair(rows) == [6, 5]
    assert plots.contrast_pair(rows[:5]) == []


def test_mel_examples_are_byte_stable_pngs_named_by_intensity(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = [row("x-normal", "01", "normal", 0.0), row("x-strong", "01", "strong", 1.0)]
    mel = (rng.normal(-40, 10, (2, 32, 63))).astype(np.float16)
    first = plots.mel_examples(tmp_path / "one", rows, mel, 16000, 256)
    second = plots.mel_examples(tmp_path / "two", rows, mel, 16000, 256)
    assert [p.name for p in first] == ["normal.png", "strong.png"]
    for a, b in zip(first, second):
        assert a.read_bytes()[:8] == PNG and a.read_bytes() == b.read_bytes()
    lab = [{**r, "intensity": "", "emotion": ""} for r in rows]
    assert [p.name for p in plots.mel_examples(tmp_path / "lab", lab, mel, 16000, 256)] == ["low.png", "high.png"]
    alone = plots.mel_examples(tmp_path / "alone", rows[:1], mel, 16000, 256)
    assert [p.name for p in alone] == ["example.png"]


def write_fake_outputs(repo: Path, task: str) -> None:
    """What train and evaluate write, tiny: DVCLive curves, predictions, per-speaker scores, mel PNGs."""
    metric = "accuracy" if task == "emotion" else "mae"
    for split in ("train", "val"):
        folder = repo / "dvclive/train/plots/metrics" / split
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("loss", metric):
            (folder / f"{name}.tsv").write_text(f"step\t{name}\n0\t0.9\n1\t0.5\n2\t0.4\n")
    metrics = repo / "metrics"
    metrics.mkdir(exist_ok=True)
    if task == "emotion":
        pairs = [("happy", "happy"), ("sad", "happy"), ("sad", "sad"), ("angry", "angry")]
    else:
        pairs = [("0.0", "0.1"), ("1.0", "0.8"), ("0.0", "0.3"), ("1.0", "0.6")]
    lines = ["clip_id,speaker,copy,actual,predicted"]
    lines += [f"03-02-0{i}-01-01-01-2{i % 2 + 1},2{i % 2 + 1},0,{a},{p}" for i, (a, p) in enumerate(pairs)]
    (metrics / "predictions.csv").write_text("\n".join(lines) + "\n")
    (metrics / "per_speaker.csv").write_text("speaker,n,headline\n21,2,0.5\n22,2,1.0\n")
    rows = [row("x-normal", "01", "normal", 0.0), row("x-strong", "01", "strong", 1.0)]
    mel = np.full((2, 16, 20), -40.0, np.float32)
    plots.mel_examples(repo / "plots/mel_examples", rows, mel, 16000, 256)


def plots_show(repo: Path) -> dict:
    shown = json.loads(dvc(repo, "plots", "show", "--json").stdout)
    assert "errors" not in shown, shown.get("errors")
    return shown["data"]


def test_dvc_plots_show_renders_every_plot_with_data(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    tinyrepo.make_repo(repo, corpus=None)
    dvc(repo, "init", "--no-scm", "-q")
    titles = [next(iter(p)) for p in yaml.safe_load((ROOT / "dvc.yaml").read_text())["plots"]]

    write_fake_outputs(repo, "emotion")
    data = plots_show(repo)
    curves = [f"dvclive/train/plots/metrics/{s}/{m}.tsv" for s in ("train", "val") for m in ("loss", "accuracy")]
    expected = {t for t in titles if not t.startswith("dvclive/")} | set(curves) | {
        "plots/mel_examples/normal.png", "plots/mel_examples/strong.png"}
    assert set(data) == expected
    for name, renders in data.items():
        (render,) = renders
        if name.endswith(".png"):
            assert render["type"] == "image" and Path(render["url"]).read_bytes()[:8] == PNG
            continue
        assert render["type"] == "vega"
        spec = json.loads(json.dumps(render["content"]))  # plain JSON all the way down
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
        assert spec["data"]["values"], name
    confusion = next(v for k, v in data.items() if "confusion" in k.lower())[0]["content"]["data"]["values"]
    assert {(v["actual"], v["predicted"]) for v in confusion} >= {("sad", "happy"), ("angry", "angry")}
    loss = next(v for k, v in data.items() if k.startswith("Loss"))[0]["content"]["data"]["values"]
    assert len(loss) == 6  # train and val curves, three epochs each

    for path in (repo / "dvclive").rglob("accuracy.tsv"):
        path.unlink()
    write_fake_outputs(repo, "enthusiasm")
    data = plots_show(repo)
    assert "dvclive/train/plots/metrics/val/mae.tsv" in data
    scatter = next(v for k, v in data.items() if "vs true" in k)
    assert len(scatter[0]["content"]["data"]["values"]) == 4
