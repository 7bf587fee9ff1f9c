#!/usr/bin/env python3
"""Print a preset from presets/NAME.yaml as ``-S key=value`` arguments for ``dvc exp run``.

Usage: dvc exp run $(python scripts/preset.py seed_enthusiasm) [more -S overrides]
Every key is checked against the params schema, so a preset cannot drift from params.yaml.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from singaffect.params import ParamsError, apply_overrides, load  # noqa: E402


def preset_args(name: str) -> list[str]:
    path = ROOT / "presets" / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in (ROOT / "presets").glob("*.yaml"))
        raise ParamsError(f"unknown preset '{name}' (known: {', '.join(known)})")
    overrides = yaml.safe_load(path.read_text()) or {}
    apply_overrides(load(ROOT / "params.yaml"), overrides)  # validates every key and value
    return [arg for key, value in overrides.items()
            for arg in ("-S", f"{key}={value if isinstance(value, str) else json.dumps(value)}")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    try:
        print(shlex.join(preset_args(parser.parse_args().name)))
    except ParamsError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
