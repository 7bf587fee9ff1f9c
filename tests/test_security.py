"""Untrusted inputs: saved models, YAML and corpus manifests must not run code or escape."""
from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

import hostile
import tinyrepo
from singaffect import corpus

SOURCES = sorted([*(tinyrepo.PROJECT / "singaffect").glob("*.py"), *(tinyrepo.PROJECT / "stages").glob("*.py"),
                  *(tinyrepo.PROJECT / "scripts").glob("*.py")])


def calls(name: str):
    """(file, call node) for every call of a function or method called ``name`` in the project."""
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if called == name:
                    yield path, node


def test_models_are_loaded_only_through_models_load_model_with_safe_mode():
    found = list(calls("load_model"))
    keras_calls = [(path, node) for path, node in found
                   if isinstance(node.func, ast.Attribute) and ast.unparse(node.func.value) == "keras.models"]
    assert [path.name for path, _ in keras_calls] == ["models.py"], "load models through singaffect.models"
    for _, node in keras_calls:
        assert any(k.arg == "safe_mode" and ast.unparse(k.value) == "True" for k in node.keywords)
    assert any(path.name == "evaluate.py" for path, _ in found)


def test_yaml_is_only_safe_loaded():
    for unsafe in ("load", "load_all", "full_load", "full_load_all", "unsafe_load", "unsafe_load_all"):
        offenders = [f"{path.name}:{node.lineno}" for path, node in calls(unsafe)
                     if isinstance(node.func, ast.Attribute) and ast.unparse(node.func.value) == "yaml"]
        assert offenders == [], f"yaml.{unsafe} can build arbitrary Python objects: {offenders}"


def test_a_model_carrying_code_is_refused(tmp_path):
    """A .keras whose Lambda layer holds Python bytecode is refused, and the code never runs."""
    import keras

    from singaffect.models import ModelError, load_model

    marker = tmp_path / "ran"
    payload = eval(f"lambda x: (__import__('pathlib').Path({str(marker)!r}).touch(), x)[1]")  # noqa: S307
    inputs = keras.Input(shape=(4,))
    path = tmp_path / "model.keras"
    keras.Model(inputs, keras.layers.Lambda(payload)(inputs)).save(path)
    marker.unlink(missing_ok=True)  # building the model ran the lambda once
    with pytest.raises(ModelError, match="cannot load model") as caught:
        load_model(path)
    assert str(path) in str(caught.value)
    assert not marker.exists()


def test_missing_or_damaged_models_are_clear_errors(tmp_path):
    from singaffect.models import ModelError, load_model

    with pytest.raises(ModelError, match="does not exist"):
        load_model(tmp_path / "model.keras")
    (tmp_path / "model.keras").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ModelError, match="cannot load model"):
        load_model(tmp_path / "model.keras")


@pytest.fixture
def lab(tmp_path) -> Path:
    """A lab corpus under tmp/corpus, with a real audio file just outside it (tmp/secret.wav)."""
    root = tmp_path / "corpus"
    hostile.base_evaluation(root)
    hostile.write_clip(tmp_path, "secret.wav", hostile.tone())
    (tmp_path / "outside").mkdir()
    hostile.write_clip(tmp_path / "outside", "x.wav", hostile.tone())
    os.symlink(tmp_path / "outside", root / "linked")  # a folder link leading out
    return root


@pytest.mark.parametrize("path", [
    "../secret.wav",
    "./../secret.wav",
    "l_f01_elly_h1_e1_nm30.wav/../../secret.wav",
    "sub/../../secret.wav",
    "linked/x.wav",
    "{tmp}/secret.wav",
    "/etc/passwd",
    "../../../../../../../../etc/passwd",
])
def test_manifest_paths_cannot_escape_the_root(lab, path):
    path = path.format(tmp=lab.parent)
    (lab / "Evaluation.txt").write_text(f"l_f01_elly_h1_e1_nm30.wav 1.0\n{path} 1.0\n")
    with pytest.raises(corpus.ClipError, match="escapes the corpus root") as caught:
        corpus.list_clips("evaluation_txt", lab, "Evaluation.txt")
    assert caught.value.path == path
    rejected: list = []
    clips = corpus.list_clips("evaluation_txt", lab, "Evaluation.txt", rejected=rejected)
    assert [c.path for c in clips] == ["l_f01_elly_h1_e1_nm30.wav"] and [r.path for r in rejected] == [path]


def test_ravdess_listing_refuses_links_out_and_never_walks_folder_links(tmp_path):
    root = tmp_path / "corpus"
    hostile.write_clip(tmp_path, "secret.wav", hostile.tone())
    hostile.write_clip(tmp_path / "outside", "03-02-02-01-01-01-07.wav", hostile.tone())
    root.mkdir()
    os.symlink(tmp_path / "secret.wav", root / "03-02-02-01-01-01-05.wav")
    os.symlink(tmp_path / "outside", root / "Actor_07")
    with pytest.raises(corpus.ClipError, match="escapes the corpus root"):
        corpus.list_clips("ravdess", root)
    rejected: list = []
    assert corpus.list_clips("ravdess", root, rejected=rejected) == []
    assert [r.path for r in rejected] == ["03-02-02-01-01-01-05.wav"]  # Actor_07/ was not walked into


@pytest.mark.parametrize("manifest", ["../secret.wav", "/etc/passwd", "linked/x.wav"])
def test_the_manifest_itself_must_be_inside_the_root(lab, manifest):
    with pytest.raises(corpus.CorpusError, match="escapes the corpus root") as caught:
        corpus.list_clips("evaluation_txt", lab, manifest)
    assert "data.manifest" in str(caught.value)
