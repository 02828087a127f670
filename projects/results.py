"""The example projects' results table, generated from RESULTS.json (the one place the
stated results live; tests/test_examples.py checks them by training each example).

    python3 projects/results.py                       # print the table
    python3 projects/results.py README.md docs/examples.md   # rewrite the table in place

A document gets the table between the lines ``<!-- examples table -->`` and
``<!-- /examples table -->`` (the closing marker is added after the first if missing).
Links to the project files are relative to each document's folder.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
START, END = "<!-- examples table -->", "<!-- /examples table -->"
METRICS = {"val_accuracy": "accuracy", "val_loss": "loss", "val_mse": "MSE", "val_r2": "R²"}


def load_results(path: Path = HERE / "RESULTS.json") -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def fmt_result(entry: dict) -> str:
    """"98.9 % accuracy", "MSE 0.0006", plus the entry's note."""
    metric, value = entry["metric"], entry["full"]
    if metric == "val_accuracy":
        text = f"{100 * value:.1f} % accuracy"
    else:
        text = f"{METRICS.get(metric, metric)} {value:.2g}" if value < 0.01 else \
            f"{METRICS.get(metric, metric)} {value:.3g}"
    return text + (f" ({entry['note']})" if entry.get("note") else "")


def fmt_seconds(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s} s" if s < 60 else f"{s // 60} min {s % 60:02d} s"


def markdown_table(results: dict, link_base: str = "projects") -> str:
    """One row per example, in the order of RESULTS.json."""
    rows = ["| Project | What it shows | Dataset | Validation result | Full run, 2 cores |",
            "|---|---|---|---|---|"]
    for name, e in results.items():
        link = f"[{Path(name).stem}]({link_base}/{name})"
        rows.append(f"| {link} | {e['shows']} | {e['dataset']} | {fmt_result(e)} | "
                    f"{fmt_seconds(e['seconds'])} |")
    return "\n".join(rows)


def link_base(doc: Path) -> str:
    """The projects folder as seen from `doc`'s folder ("projects", "../projects")."""
    return os.path.relpath(HERE, Path(doc).resolve().parent).replace(os.sep, "/")


def link_of(doc: Path, name: str) -> str:
    return f"{link_base(doc)}/{name}"


def table_for(doc: Path, results: dict) -> str:
    """The table with links relative to `doc`'s folder."""
    return markdown_table(results, link_base(doc))


def update_text(text: str, table: str) -> str:
    """`text` with the table between the markers (text without START is returned as is)."""
    if START not in text:
        return text
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1] if END in rest else rest
    return f"{head}{START}\n{table}\n{END}{tail}"


def main(argv: list[str]) -> int:
    results = load_results()
    if not argv:
        print(markdown_table(results))
        return 0
    for name in argv:
        doc = Path(name)
        text = doc.read_text(encoding="utf-8")
        if START not in text:
            print(f"{doc}: no {START} line; nothing written", file=sys.stderr)
            return 2
        doc.write_text(update_text(text, table_for(doc, results)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
