from pathlib import Path

from compute.cli import main
from compute.layers import layer_types
from compute.reference import markdown

DOC = Path(__file__).resolve().parents[1] / "docs" / "layers.md"


def test_layer_reference_doc_is_current():
    assert DOC.read_text(encoding="utf-8") == markdown(), \
        "docs/layers.md is stale: run `netwright-cli layers > docs/layers.md`"


def test_reference_lists_every_layer_and_param(capsys):
    assert main(["layers"]) == 0
    text = capsys.readouterr().out
    for name, cls in layer_types().items():
        assert f"### {name}" in text
        for p in cls.params:
            assert f"`{p.name}`" in text
