"""Collects the CASES that every tests/layers/test_*.py module declares."""
from __future__ import annotations

import importlib
import pkgutil

import tests.layers


def all_cases() -> list:
    cases = []
    for info in sorted(pkgutil.iter_modules(tests.layers.__path__), key=lambda i: i.name):
        if info.name.startswith("test_"):
            module = importlib.import_module(f"tests.layers.{info.name}")
            cases.extend(getattr(module, "CASES", []))
    return cases
