"""scripts/compare_locks.py: which outputs of two dvc.lock files are byte-identical."""
from __future__ import annotations

import importlib.util

import yaml

from conftest import ROOT


def load():
    spec = importlib.util.spec_from_file_location("compare_locks", ROOT / "scripts" / "compare_locks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def lock(**outs: str) -> str:
    return yaml.safe_dump({"schema": "2.0", "stages": {"s": {"outs": [
        {"path": path.replace("__", "/").replace("_json", ".json"), "md5": md5, "size": 1} for path, md5 in outs.items()]}}})


def test_identical_renamed_and_differing_outputs(tmp_path, capsys):
    compare = load()
    (tmp_path / "old.lock").write_text(lock(metrics__classic_json="a", data__x="b"))
    (tmp_path / "same.lock").write_text(lock(metrics__model_json="a", data__x="b"))
    (tmp_path / "changed.lock").write_text(lock(metrics__model_json="a", data__x="c"))
    renamed = ["--rename", "metrics/classic.json=metrics/model.json"]
    assert compare.main([str(tmp_path / "old.lock"), str(tmp_path / "same.lock"), *renamed]) == 0
    assert "2 identical outputs; differing: []" in capsys.readouterr().out
    assert compare.main([str(tmp_path / "old.lock"), str(tmp_path / "changed.lock"), *renamed]) == 1
    assert "differing: ['data/x']" in capsys.readouterr().out
    assert compare.main([str(tmp_path / "old.lock"), str(tmp_path / "same.lock")]) == 0  # without the rename
    printed = capsys.readouterr().out
    assert "1 identical outputs" in printed and "old.lock: ['metrics/classic.json']" in printed
    assert "same.lock: ['metrics/model.json']" in printed
