"""docs/params.md: the params reference, generated from params.yaml's comments and the schema.

Kept out of ``params.py`` (which every stage imports) so that the docs can change without
making DVC rerun any stage.
"""
from __future__ import annotations

import json
from pathlib import Path

from singaffect.params import _SCHEMA_FLAT, ParamsError, Spec, _flatten, load


def _comments(path: Path) -> dict[str, str]:
    """The trailing ``# comment`` of each key in a params file (continuation lines joined), by dotted key."""
    comments: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    last = ""
    for line in path.read_text().splitlines():
        body, _, comment = line.partition("#")
        if not body.strip():
            if comment.strip() and last and line.startswith(" " * 20):  # a comment continuing the key above
                comments[last] = f"{comments[last]} {comment.strip()}".strip()
            continue
        indent, key = len(body) - len(body.lstrip()), body.strip().split(":", 1)[0]
        while stack and stack[-1][0] >= indent:
            stack.pop()
        last = ".".join([k for _, k in stack] + [key])
        comments[last] = comment.strip()
        stack.append((indent, key))
    return comments


def _allowed(spec: Spec) -> str:
    kinds = spec.kind if isinstance(spec.kind, tuple) else (spec.kind,)
    if spec.choices is not None:
        words = " \\| ".join(f"`{c}`" for c in spec.choices)
        return words if list not in kinds else f"a list or {words}"
    text = " or ".join(k.__name__ for k in kinds)
    if spec.low is not None and spec.high is not None:
        return f"{text} in [{spec.low:g}, {spec.high:g}]"
    if spec.low is not None:
        return f"{text} ≥ {spec.low:g}"
    return text


def reference_markdown(path: str | Path = "params.yaml") -> str:
    """docs/params.md: every schema key with its value in ``path``, what it accepts and its comment there.

    A key without a comment (its own, or for ``augment.<transform>.*`` its transform's) is an error:
    the reference would say nothing about it.
    """
    path = Path(path)
    values, comments = _flatten(load(path)), _comments(path)
    lines = ["# Params reference", "",
             f"Generated from `{path.name}` and the schema in `singaffect/params.py` by `singaffect params-doc`;",
             "do not edit by hand. Override any key per experiment: `dvc exp run -S key=value`.", ""]
    section = ""
    for key, spec in _SCHEMA_FLAT.items():
        head = key.split(".")[0]
        if head != section:
            section = head
            lines += ["", f"## `{section}`" + (f": {comments[section]}" if comments.get(section) else ""), "",
                      "| key | default | accepts | meaning |", "| --- | --- | --- | --- |"]
        comment = comments.get(key) or (comments.get(key.rsplit(".", 1)[0], "") if key.count(".") > 1 else "")
        if not comment:
            raise ParamsError(f"params key '{key}' has no comment in {path}; the reference needs one")
        value = json.dumps(values[key]) if not isinstance(values[key], str) else f'"{values[key]}"'
        meaning = comment.replace("|", "\\|")
        lines.append(f"| `{key}` | `{value}` | {_allowed(spec)} | {meaning} |")
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"
