"""Layer types. Each module here defines one family; importing it registers its classes.

Adding a layer type is adding one class (decorated with ``@register``) to one module.
"""
import importlib
import pkgutil

from .base import FAMILIES, Layer, layer_class, layer_types, register

_loaded = False


def load_all() -> None:
    """Import every module of this package once, so every layer type is registered."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for info in pkgutil.iter_modules(__path__):
        if info.name != "base":
            importlib.import_module(f"{__name__}.{info.name}")


__all__ = ["FAMILIES", "Layer", "layer_class", "layer_types", "register", "load_all"]
