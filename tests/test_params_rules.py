"""Every rule of singaffect.params.validate, for every key of the schema, and every stage
refusing bad params before it touches any data."""
from __future__ import annotations

from typing import Any

import pytest
import yaml

import tinyrepo
from singaffect import params
from singaffect.params import _ORDERED, _SCHEMA_FLAT, ParamsError, Spec

PARAMS = yaml.safe_load((tinyrepo.PROJECT / "params.yaml").read_text())


def with_value(key: str, value: Any) -> dict:
    return tinyrepo.set_keys(PARAMS, {key: value})


def without(key: str) -> dict:
    tree = tinyrepo.set_keys(PARAMS, {})
    *parents, leaf = key.split(".")
    node = tree
    for part in parents:
        node = node[part]
    del node[leaf]
    return tree


def rejects(tree: Any, *fragments: str, sections=None) -> str:
    with pytest.raises(ParamsError) as caught:
        params.validate(tree, sections)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def bad_values(spec: Spec) -> list[tuple[Any, str]]:
    """(value, message fragment) pairs that break ``spec``, one per rule it has."""
    kinds = spec.kind if isinstance(spec.kind, tuple) else (spec.kind,)
    cases: list[tuple[Any, str]] = [(True, "expected"), (None, "expected")]
    if bool in kinds:  # a switch: only true or false, never 1 or "true"
        return [(None, "expected"), (1, "expected"), ("true", "expected")]
    if str in kinds and int not in kinds:
        cases.append((5, "expected"))
    if (int in kinds or float in kinds) and str not in kinds:
        cases.append(("7", "expected"))
    if (int in kinds or float in kinds) and list not in kinds:
        cases.append(([1], "expected"))
    if int in kinds and float not in kinds:
        cases.append((1.5, "expected"))
    if float in kinds:
        cases += [(float("nan"), "not a finite number"), (float("inf"), "not a finite number")]
    if list in kinds:
        items = spec.item if isinstance(spec.item, tuple) else (spec.item,)
        cases += [(["x"] if str not in items else [1.5], "wrong type"), ([True], "wrong type")]
        if str not in kinds:
            cases.append(("1, 2", "expected"))
        elif spec.choices is not None:
            cases.append(("1, 2", "is not one of"))
    if spec.choices is not None and str in kinds:
        cases.append(("no-such-choice", "is not one of"))
    if spec.low is not None:
        cases.append((spec.low - 1 if int in kinds and float not in kinds else spec.low - 1e-3, "below the minimum"))
    if spec.high is not None:
        cases.append((spec.high + 1 if int in kinds and float not in kinds else spec.high + 1e-3, "above the maximum"))
    return cases


RULES = [(key, value, fragment) for key, spec in _SCHEMA_FLAT.items() for value, fragment in bad_values(spec)]


def test_the_project_params_are_valid():
    params.validate(PARAMS)
    assert params.load(tinyrepo.PROJECT / "params.yaml") == PARAMS


@pytest.mark.parametrize(("key", "value", "fragment"), RULES, ids=[f"{k}={v!r}" for k, v, _ in RULES])
def test_every_rule_of_every_key(key, value, fragment):
    rejects(with_value(key, value), f"'{key}'", fragment)


@pytest.mark.parametrize("key", list(_SCHEMA_FLAT))
def test_every_key_is_required(key):
    rejects(without(key), f"params key '{key}' is missing")


PARTNER = {**{low: high for low, high in _ORDERED}, **{high: low for low, high in _ORDERED}}


@pytest.mark.parametrize("key", [k for k, spec in _SCHEMA_FLAT.items() if spec.low is not None or spec.high is not None])
def test_bounds_themselves_are_allowed(key):
    spec = _SCHEMA_FLAT[key]
    for bound in (spec.low, spec.high):
        if bound is not None:
            overrides = {key: bound, **({PARTNER[key]: bound} if key in PARTNER else {})}  # keep pairs ordered
            params.validate(tinyrepo.set_keys(PARAMS, overrides))


def test_ints_are_accepted_for_floats_but_not_the_reverse():
    params.validate(with_value("train.learning_rate", 1))
    rejects(with_value("train.epochs", 2.0), "'train.epochs'", "expected int")


@pytest.mark.parametrize(("typo", "suggestion"), [
    ("augment.copys", "augment.copies"),
    ("augment.gain.max_gain", "augment.gain.max_gain_db"),
    ("train.learnig_rate", "train.learning_rate"),
    ("data.on_eror", "data.on_error"),
    ("mel.nfft", "mel.n_fft"),
])
def test_unknown_keys_suggest_the_closest_known_one(typo, suggestion):
    rejects(with_value(typo, 1), f"unknown params key '{typo}'", f"did you mean '{suggestion}'?")


def test_unknown_sections_suggest_too_and_nothing_far_fetched_is_suggested():
    rejects({**PARAMS, "agument": {}}, "unknown params key 'agument'", "did you mean 'augment'?")
    message = rejects({**PARAMS, "zzz": {}}, "unknown params key 'zzz'")
    assert "did you mean" not in message


def test_unknown_keys_are_refused_even_in_sections_a_stage_does_not_read():
    rejects(with_value("train.epoch", 3), "unknown params key 'train.epoch'", sections=["data"])


def test_only_the_sections_a_stage_reads_are_checked_for_values():
    tree = with_value("train.epochs", -1)
    params.validate(tree, sections=["data", "compute"])
    rejects(tree, "'train.epochs'", sections=["train"])


@pytest.mark.parametrize(("low", "high"), _ORDERED)
def test_ordered_pairs(low, high):
    tree = tinyrepo.set_keys(PARAMS, {low: 0.5, high: 0.25})
    rejects(tree, f"'{low}'", f"'{high}'", "must not exceed")
    params.validate(tinyrepo.set_keys(PARAMS, {low: 0.25, high: 0.25}))  # equal is fine


@pytest.mark.parametrize(("tree", "fragment"), [
    ([1, 2], "must hold a mapping"),
    ("data", "must hold a mapping"),
    ({**PARAMS, "augment": 5}, "'augment' must be a mapping"),
    ({**PARAMS, "augment": None}, "'augment' must be a mapping"),
    (tinyrepo.set_keys(PARAMS, {"augment.gain": 0.5}), "'augment.gain' must be a mapping"),
])
def test_structure(tree, fragment):
    rejects(tree, fragment)


def test_load_refuses_missing_files_and_bad_yaml(tmp_path):
    with pytest.raises(ParamsError, match="not found"):
        params.load(tmp_path / "params.yaml")
    (tmp_path / "params.yaml").write_text("data: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML") as caught:
        params.load(tmp_path / "params.yaml")
    assert "\n" not in str(caught.value)


def test_load_is_safe_yaml(tmp_path):
    """A YAML tag that would run code under yaml.load is refused, and nothing runs."""
    marker = tmp_path / "pwned"
    (tmp_path / "params.yaml").write_text(f"data: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        params.load(tmp_path / "params.yaml")
    assert not marker.exists()


# --- stages validate params before any work --------------------------------------------

STAGE_SECTIONS = {
    "raw": ("data.corpus", "data.on_eror"),
    "augment": ("augment.copies", "augment.copys"),
    "pad": ("pad.seconds", "pad.second"),
    "mel": ("mel.n_fft", "mel.nfft"),
    "split": ("split.strategy", "split.strategey"),
    "train": ("train.epochs", "train.epoch"),
    "evaluate": (None, "split.sead"),  # reads no values, still refuses unknown keys
}


@pytest.mark.parametrize(("stage", "breakage"), [(stage, breakage) for stage, (key, _) in STAGE_SECTIONS.items()
                                                 for breakage in ("bad value", "typo")[key is None:]])
def test_stages_check_params_before_touching_data(stage, breakage, tmp_path, capsys):
    """In a folder with no data at all, a bad key must be the error, not a missing input."""
    key, typo = STAGE_SECTIONS[stage]
    tree = with_value(key, True) if breakage == "bad value" else with_value(typo, 1)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tree))
    assert tinyrepo.run_stage(tmp_path, stage) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"'{key if breakage == 'bad value' else typo}'" in errors[0], errors
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]
