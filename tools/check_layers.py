#!/usr/bin/env python3
"""Fails when an #include breaks the layering of docs/architecture.md.

A module may include its own headers and those of modules in strictly lower layers; siblings
(same layer) never include each other, and nobody includes another module's internal/ headers.
The layer table below is the one in docs/architecture.md: change both together.
"""
import pathlib
import re
import sys

LAYERS = {
    "base": 0,
    "model": 1, "io": 1, "conf": 1,
    "scan": 2, "otlp": 2,
    "receivers": 3, "processors": 3, "exporters": 3, "wal": 3, "blocks": 3,
    "ingest": 4, "storage": 4, "traceql": 4, "pipeline": 4,
    "query": 5, "generator": 5,
    "api": 6,
    "server": 7,
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def main() -> int:
    root = pathlib.Path(__file__).resolve().parent.parent
    src = root / "src"
    errors = []
    for path in sorted(src.rglob("*")):
        if path.suffix not in (".h", ".cc") or not path.is_file():
            continue
        module = path.relative_to(src).parts[0]
        if module not in LAYERS:
            errors.append(f"{path.relative_to(root)}: module '{module}' is not in the layer table")
            continue
        for inc in INCLUDE.findall(path.read_text(errors="replace")):
            target = inc.split("/")[0]
            if target not in LAYERS:
                continue  # generated or third-party header
            if target == module:
                continue
            if "/internal/" in inc:
                errors.append(f"{path.relative_to(root)}: includes another module's internal header {inc}")
            elif LAYERS[target] >= LAYERS[module]:
                kind = "a sibling" if LAYERS[target] == LAYERS[module] else "a higher layer"
                errors.append(
                    f"{path.relative_to(root)}: {module} (layer {LAYERS[module]}) includes {inc}, "
                    f"{kind} ({target}, layer {LAYERS[target]})")
    for e in errors:
        print(e)
    print(f"layering: {len(errors)} violation(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
