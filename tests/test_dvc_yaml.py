"""dvc.yaml declares exactly the code each stage reads: its script and every singaffect
module the script imports, directly or through other modules (lazy imports included)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    """singaffect modules imported anywhere in ``path`` (``from singaffect import x`` or ``.x``).

    Importing any of them runs the package's ``__init__.py`` first, so it counts too; so
    does ``import singaffect`` itself (``stages/__init__.py``).
    """
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "singaffect":
            if node.module == "singaffect":
                found.update(f"singaffect/{alias.name}.py" for alias in node.names)
            else:
                found.add(node.module.replace(".", "/") + ".py")
        elif isinstance(node, ast.Import):
            found.update(a.name.replace(".", "/") + ".py" for a in node.names if a.name.startswith("singaffect."))
            if any(a.name == "singaffect" for a in node.names):
                found.add("singaffect/__init__.py")
    if found:
        found.add("singaffect/__init__.py")
    return {m for m in found if (ROOT / m).is_file()}


def code_read_by(script: str) -> set[str]:
    """``script`` and the code it runs; ``python -m stages.NAME`` runs ``stages/__init__.py`` first."""
    seen, todo = set(), [script, *(["stages/__init__.py"] if script.startswith("stages/") else [])]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo.extend(imported_modules(ROOT / path) - seen)
    return seen


@pytest.mark.parametrize("pipeline", ["dvc.yaml", "cv/dvc.yaml"])
def test_every_stage_declares_exactly_the_code_it_imports(pipeline: str) -> None:
    stages = yaml.safe_load((ROOT / pipeline).read_text())["stages"]
    assert stages, f"{pipeline} has no stages"
    for name, stage in stages.items():
        stage = stage.get("do", stage)  # foreach stages declare their deps under do
        script = "stages/{}.py".format(re.search(r"python -m stages\.(\w+)", stage["cmd"]).group(1))
        declared = {d for d in stage["deps"] if isinstance(d, str) and d.endswith(".py")}
        assert declared == code_read_by(script), (
            f"stage {name}: missing {sorted(code_read_by(script) - declared)}, "
            f"extra {sorted(declared - code_read_by(script))}")


def test_the_checker_sees_lazy_and_transitive_imports() -> None:
    read = code_read_by("stages/evaluate.py")
    assert "singaffect/training.py" in read  # imported by the stage
    assert "singaffect/errors.py" in read    # imported by every module


def _entries(items: list) -> set[str]:
    """Paths of a deps/outs/metrics/plots list (entries are strings or one-key mappings)."""
    return {next(iter(item)) if isinstance(item, dict) else item for item in items or []}


OUTPUT_FOLDERS = ("data", "metrics", "models", "plots", "dvclive")


def _path_arguments(cmd: str) -> set[str]:
    """The values of the cmd's ``--flag`` options that name files or folders (``models``, ``data/split``, ...)."""
    tokens = cmd.split()[3:]  # after python -m stages.NAME
    return {token for token in tokens if not token.startswith("--") and token.split("/")[0] in OUTPUT_FOLDERS}


@pytest.mark.parametrize("pipeline", ["dvc.yaml", "cv/dvc.yaml"])
def test_every_path_a_stage_reads_or_writes_is_named_in_its_cmd(pipeline: str) -> None:
    """Paths are declared once, in dvc.yaml: each data dep and output lies in a path the cmd
    passes to the script, and each path the cmd passes is (or holds) a declared dep or output."""
    stages = yaml.safe_load((ROOT / pipeline).read_text())["stages"]
    for name, stage in stages.items():
        stage = stage.get("do", stage)
        passed = _path_arguments(stage["cmd"])
        data = {d for d in _entries(stage["deps"]) if not d.endswith(".py") and not d.startswith("${")}
        written = set().union(*(_entries(stage.get(key)) for key in ("outs", "metrics", "plots")))
        for path in sorted(data | written):
            assert any(path == p or path.startswith(p.rstrip("/") + "/") for p in passed), (
                f"{pipeline} stage {name}: {path} is declared but its cmd passes no path to it")
        for p in sorted(passed):
            assert any(d == p or d.startswith(p.rstrip("/") + "/") for d in data | written), (
                f"{pipeline} stage {name}: its cmd passes {p}, which no dep or output declares")


def test_stage_scripts_name_no_paths_of_their_own() -> None:
    """No stage script hard-codes a pipeline path: they come from the cmd (``stage.arguments``)."""
    for script in sorted((ROOT / "stages").glob("*.py")):
        source = script.read_text()
        found = re.findall(r"""["'](?:data|metrics|models|plots|dvclive)/[^"']*["']""", source)
        assert not found, f"{script.name} hard-codes {found}"


def test_each_stage_is_named_like_its_script() -> None:
    """One name per stage: ``dvc repro NAME`` runs ``stages/NAME.py`` (cv/dvc.yaml's pooling stage is ``cnn``)."""
    for pipeline, exceptions in (("dvc.yaml", {}), ("cv/dvc.yaml", {"cnn": "cv"})):
        for name, stage in yaml.safe_load((ROOT / pipeline).read_text())["stages"].items():
            script = re.search(r"python -m stages\.(\w+)", stage.get("do", stage)["cmd"]).group(1)
            assert script == exceptions.get(name, name), f"{pipeline}: stage {name} runs stages/{script}.py"


def test_dvc_parses_yaml_with_the_c_parser() -> None:
    """requirements.txt pins ruamel.yaml.clib: DVC's safe loader then parses dvc.yaml, dvc.lock and params
    with libyaml's C parser instead of pure Python on every command (the no-op ``dvc repro`` cost)."""
    from ruamel.yaml import YAML

    assert YAML(typ="safe").Parser.__module__.startswith("ruamel.yaml.clib")
