"""Presets: named sets of params overrides in ``presets/NAME.yaml``, checked against the schema."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from singaffect.params import ParamsError, apply_overrides, load


def preset_args(name: str, root: Path = Path(".")) -> list[str]:
    """``-S key=value`` arguments for ``dvc exp run`` from ``root/presets/NAME.yaml``.

    Every key and value is validated against ``root/params.yaml``, so a preset cannot
    drift from the params schema.
    """
    path = root / "presets" / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in (root / "presets").glob("*.yaml"))
        raise ParamsError(f"unknown preset '{name}' (known: {', '.join(known) or 'none'})")
    overrides = yaml.safe_load(path.read_text()) or {}
    apply_overrides(load(root / "params.yaml"), overrides)
    return [arg for key, value in overrides.items()
            for arg in ("-S", f"{key}={value if isinstance(value, str) else json.dumps(value)}")]
