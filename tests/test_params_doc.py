"""docs/params.md is generated from params.yaml and the schema, and says something about every key."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT
from singaffect import cli, params, params_doc


def test_the_params_reference_is_up_to_date_and_covers_every_key() -> None:
    text = (ROOT / "docs/params.md").read_text()
    assert text == params_doc.reference_markdown(ROOT / "params.yaml"), "run singaffect params-doc"
    for key in params._SCHEMA_FLAT:
        assert f"| `{key}` |" in text


def test_a_key_without_a_comment_is_refused(tmp_path: Path) -> None:
    lines = (ROOT / "params.yaml").read_text().replace("  n_mels: 128                          # mel bands\n",
                                                       "  n_mels: 128\n", 1)
    (tmp_path / "params.yaml").write_text(lines)
    with pytest.raises(params.ParamsError, match="params key 'mel.n_mels' has no comment"):
        params_doc.reference_markdown(tmp_path / "params.yaml")


def test_check_fails_on_a_stale_reference(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "params.md"
    out.write_text("stale\n")
    assert cli.main(["params-doc", "--check", "--params", str(ROOT / "params.yaml"), "--out", str(out)]) == 1
    assert "is out of date" in capsys.readouterr().err
    assert cli.main(["params-doc", "--params", str(ROOT / "params.yaml"), "--out", str(out)]) == 0
    assert cli.main(["params-doc", "--check", "--params", str(ROOT / "params.yaml"), "--out", str(out)]) == 0
