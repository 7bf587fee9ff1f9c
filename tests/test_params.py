"""params.yaml validation: every bad value is a ParamsError naming the key."""
from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from singaffect import params
from singaffect.params import ParamsError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    """The repository's params.yaml, which must itself be valid."""
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def with_value(base: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    result = copy.deepcopy(base)
    *parents, leaf = dotted.split(".")
    node = result
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    return result


def without(base: dict[str, Any], dotted: str) -> dict[str, Any]:
    result = copy.deepcopy(base)
    *parents, leaf = dotted.split(".")
    node = result
    for part in parents:
        node = node[part]
    del node[leaf]
    return result


def test_repository_params_are_valid(base: dict[str, Any]) -> None:
    params.validate(base)
    assert params.load(ROOT / "params.yaml") == base


def test_schema_covers_every_key_of_params_yaml(base: dict[str, Any]) -> None:
    assert set(params._flatten(base)) == set(params._SCHEMA_FLAT)


@pytest.mark.parametrize("dotted, hint", [
    ("train.learning_rte", "train.learning_rate"),
    ("augment.gain.max_gain", "augment.gain.max_gain_db"),
    ("trian", "train"),
])
def test_unknown_key_suggests_closest(base: dict[str, Any], dotted: str, hint: str) -> None:
    with pytest.raises(ParamsError, match=f"unknown params key '{dotted}'; did you mean '{hint}'"):
        params.validate(with_value(base, dotted, 1))


@pytest.mark.parametrize("dotted, renamed", [
    ("classic.model", "functionals_model.model"),
    ("baseline.alpha", "handcrafted_model.alpha"),
])
def test_a_key_of_a_renamed_section_names_the_new_one(base: dict[str, Any], dotted: str, renamed: str) -> None:
    """Commands recorded before the feature-model stages were renamed still say which key to use now."""
    old, new = dotted.split(".")[0], renamed.split(".")[0]
    with pytest.raises(ParamsError, match=f"unknown params key '{old}': section '{old}' is now '{new}'"):
        params.validate(with_value(base, dotted, 1))
    with pytest.raises(ParamsError, match=f"unknown params key '{dotted}': .* \\('{renamed}'\\)"):
        params.apply_overrides(base, {dotted: 1})


def test_unknown_key_without_close_match_has_no_hint(base: dict[str, Any]) -> None:
    with pytest.raises(ParamsError) as info:
        params.validate(with_value(base, "train.zzzzzzzz", 1))
    assert str(info.value) == "unknown params key 'train.zzzzzzzz'"


def test_unknown_key_is_refused_even_in_sections_not_read(base: dict[str, Any]) -> None:
    with pytest.raises(ParamsError, match="mel.n_mel"):
        params.validate(with_value(base, "mel.n_mel", 64), sections=["train"])


@pytest.mark.parametrize("dotted, value", [
    ("train.epochs", "10"),
    ("train.epochs", 1.5),
    ("train.epochs", True),
    ("pad.seconds", "5"),
    ("pad.seconds", False),
    ("data.root", 3),
    ("split.test_speakers", 21),
    ("split.test_speakers", [21, 1.5]),
    ("split.test_speakers", [21, True]),
])
def test_wrong_type_names_the_key(base: dict[str, Any], dotted: str, value: Any) -> None:
    with pytest.raises(ParamsError, match=f"params key '{dotted}'"):
        params.validate(with_value(base, dotted, value))


def test_int_is_accepted_where_float_is_expected(base: dict[str, Any]) -> None:
    params.validate(with_value(base, "pad.seconds", 3))
    params.validate(with_value(base, "split.test_speakers", ["21", 22]))


@pytest.mark.parametrize("dotted, value, message", [
    ("augment.gaussian_noise.p", 1.5, "above the maximum 1.0"),
    ("data.sample_rate", 100, "below the minimum 4000"),
    ("train.epochs", 0, "below the minimum 1"),
    ("compute.n_jobs", -2, "below the minimum -1"),
    ("split.val_fraction", 0.95, "above the maximum 0.9"),
    ("pad.seconds", float("inf"), "not a finite number"),
    ("data.score_max", float("inf"), "not a finite number"),
    ("pad.seconds", float("nan"), "not a finite number"),
    ("train.learning_rate", float("nan"), "not a finite number"),
    ("split.strategy", "grouped", r"'grouped' is not one of \['group', 'speaker', 'cross_song_same_singers'"),
    ("mel.dtype", "float64", "is not one of"),
])
def test_out_of_range_names_the_key(base: dict[str, Any], dotted: str, value: Any, message: str) -> None:
    with pytest.raises(ParamsError, match=f"params key '{dotted}': .*{message}"):
        params.validate(with_value(base, dotted, value))


@pytest.mark.parametrize("low, high", params._ORDERED)
def test_min_above_max_is_refused(base: dict[str, Any], low: str, high: str) -> None:
    flat = params._flatten(base)
    bad = with_value(with_value(base, low, flat[high]), high, flat[low])
    if flat[low] == flat[high]:
        pytest.skip("equal bounds in params.yaml")
    with pytest.raises(ParamsError, match=f"'{low}' .* must not exceed '{high}'"):
        params.validate(bad)
    params.validate(with_value(base, low, flat[high]))  # equal bounds are fine


def test_missing_key_is_reported_only_for_sections_read(base: dict[str, Any]) -> None:
    broken = without(base, "mel.n_mels")
    with pytest.raises(ParamsError, match="params key 'mel.n_mels' is missing"):
        params.validate(broken)
    with pytest.raises(ParamsError, match="params key 'mel.n_mels' is missing"):
        params.validate(broken, sections=["mel"])
    params.validate(broken, sections=["train", "split"])


@pytest.mark.parametrize("dotted, value", [("compute", None), ("augment.gain", 5), ("split", [])])
def test_known_group_that_is_not_a_mapping(base: dict[str, Any], dotted: str, value: Any) -> None:
    with pytest.raises(ParamsError, match=re.escape(f"params key '{dotted}' must be a mapping") + ".*" +
                       re.escape(f"got {value!r}")):
        params.validate(with_value(base, dotted, value))


def test_missing_section_is_reported(base: dict[str, Any]) -> None:
    with pytest.raises(ParamsError, match="params key 'compute.n_jobs' is missing"):
        params.validate(without(base, "compute"), sections=["compute"])


def test_load_errors(tmp_path: Path, base: dict[str, Any]) -> None:
    with pytest.raises(ParamsError, match="not found"):
        params.load(tmp_path / "params.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ParamsError, match="mapping"):
        params.load(tmp_path / "list.yaml")
    (tmp_path / "typo.yaml").write_text(yaml.safe_dump(with_value(base, "train.epoch", 3)))
    with pytest.raises(ParamsError, match="did you mean 'train.epochs'"):
        params.load(tmp_path / "typo.yaml", sections=["train"])


def test_load_reads_yaml_nan_as_invalid(tmp_path: Path, base: dict[str, Any]) -> None:
    text = yaml.safe_dump(base).replace("seconds: 5.0", "seconds: .nan")
    assert ".nan" in text
    (tmp_path / "params.yaml").write_text(text)
    with pytest.raises(ParamsError, match="pad.seconds"):
        params.load(tmp_path / "params.yaml", sections=["pad"])


def test_each_settings_class_takes_exactly_its_params_section(base: dict[str, Any]) -> None:
    """Stages build ``Settings(**section)``: a key added to params.yaml must reach the code that reads it."""
    import dataclasses

    from singaffect import augmentation, feature_models, functionals, handcrafted, splits

    for section, settings in (("split", splits.Settings), ("augment", augmentation.Settings),
                              ("functionals", functionals.Settings), ("handcrafted", handcrafted.Settings)):
        assert {f.name for f in dataclasses.fields(settings)} == set(base[section]), section
    assert {f.name for f in dataclasses.fields(feature_models.KerasFit)} <= set(base["functionals_model"])
