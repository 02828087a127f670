"""The engine never imports Qt or the designer (DESIGN.md: compute imports nothing above it)."""
import subprocess
import sys

import compute
from compute.layers import FAMILIES, layer_types


def test_compute_imports_no_qt():
    code = ("import sys, compute, compute.layers; compute.layers.load_all(); "
            "import pkgutil, importlib; "
            "[importlib.import_module(m.name) for m in pkgutil.walk_packages(compute.__path__, 'compute.') "
            " if not m.name.endswith('__main__')]; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'shiboken6', 'pyqtgraph', 'designer', 'torch')); print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_every_layer_declares_its_contract():
    for name, cls in layer_types().items():
        assert cls.type_name == name
        assert cls.family in FAMILIES, name
        assert cls.doc, f"{name} has no doc line"
        for p in cls.params:
            assert p.help, f"{name}.{p.name} has no help text"
            if p.default is not None and p.kind not in ("shape",):
                p.validate(p.default)


def test_registering_a_duplicate_type_raises():
    import pytest

    from compute.layers.base import Layer, register

    class Dense(Layer):
        type_name = "Dense"
        doc = "dup"

    with pytest.raises(TypeError, match="registered twice"):
        register(Dense)


def test_public_api_is_importable_from_the_package():
    for name in ("Graph", "build_model", "GraphError", "ProjectError", "NetwrightError"):
        assert hasattr(compute, name)
