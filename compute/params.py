"""Parameter schemas: one declaration drives validation, project files and editor forms.

A layer lists its parameters as `Param` objects. The project loader validates values with
them, the editor generates its inspector form from them (spin box, combo box, check box or
text field by `kind`), and the help text becomes the tooltip.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

# kinds understood by validate() and by the editor's form generator
KINDS = ("int", "float", "bool", "choice", "shape", "size", "padding", "optional_int",
         "optional_float")


@dataclass(frozen=True)
class Param:
    """One parameter of a layer: name, kind, default, allowed values and a line of help.

    Kinds: ``int``/``float`` (with ``min``/``max``), ``bool``, ``choice`` (one of
    ``choices``), ``shape`` (a list of positive ints), ``size`` (a positive int or a pair
    of them), ``padding`` (an int >= 0 or one of ``choices``), ``optional_int`` and
    ``optional_float`` (a number or ``None``, meaning "the usual default").
    """

    name: str
    kind: str
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"param {self.name!r}: unknown kind {self.kind!r}")

    def validate(self, value: Any) -> Any:
        """Return the normalised value, or raise ValueError saying what is wrong."""
        check = getattr(self, f"_check_{self.kind}")
        return check(value)

    # -- one checker per kind ------------------------------------------------------
    def _range(self, value: float) -> None:
        if self.min is not None and value < self.min:
            raise ValueError(f"{self.name} must be >= {self.min:g}, got {value:g}")
        if self.max is not None and value > self.max:
            raise ValueError(f"{self.name} must be <= {self.max:g}, got {value:g}")

    def _check_int(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{self.name} must be an integer, got {value!r}")
        if isinstance(value, float) and (not math.isfinite(value) or value != int(value)):
            raise ValueError(f"{self.name} must be an integer, got {value!r}")
        value = int(value)
        self._range(value)
        return value

    def _check_optional_int(self, value: Any) -> int | None:
        return None if value is None else self._check_int(value)

    def _check_optional_float(self, value: Any) -> float | None:
        return None if value is None else self._check_float(value)

    def _check_float(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{self.name} must be a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{self.name} must be finite, got {value!r}")
        self._range(value)
        return value

    def _check_bool(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"{self.name} must be true or false, got {value!r}")
        return value

    def _check_choice(self, value: Any) -> str:
        if value not in self.choices:
            options = ", ".join(map(str, self.choices))
            raise ValueError(f"{self.name} must be one of {options}; got {value!r}")
        return value

    def _check_shape(self, value: Any) -> tuple[int, ...]:
        if not isinstance(value, (list, tuple)) or not value:
            raise ValueError(f"{self.name} must be a non-empty list of positive integers, got {value!r}")
        dims = []
        for d in value:
            if isinstance(d, bool) or not isinstance(d, int) or d < 1 or d > 1_000_000:
                raise ValueError(f"{self.name} must be a list of positive integers, got {value!r}")
            dims.append(d)
        return tuple(dims)

    def _check_size(self, value: Any) -> tuple[int, int]:
        pair = value if isinstance(value, (list, tuple)) else (value, value)
        if len(pair) != 2:
            raise ValueError(f"{self.name} must be an integer or a pair of integers, got {value!r}")
        out = []
        for v in pair:
            if isinstance(v, bool) or not isinstance(v, int):
                raise ValueError(f"{self.name} must be an integer or a pair of integers, got {value!r}")
            self._range(v)
            out.append(v)
        return tuple(out)

    def _check_padding(self, value: Any) -> int | str:
        if isinstance(value, str):
            return self._check_choice(value)
        return self._check_int(value)

    def to_json(self, value: Any) -> Any:
        """The value as it is written to a project file (tuples become lists)."""
        return list(value) if isinstance(value, tuple) else value


def resolve(params: tuple[Param, ...], given: dict[str, Any], where: str) -> dict[str, Any]:
    """Validate `given` against `params` and fill defaults.

    Raises ValueError naming `where` and the offending param; unknown names are refused
    with the closest known name as a hint.
    """
    by_name = {p.name: p for p in params}
    for name in given:
        if name not in by_name:
            hint = _closest(name, by_name)
            extra = f" (did you mean {hint!r}?)" if hint else ""
            raise ValueError(f'{where}: unknown param "{name}"{extra}')
    config = {}
    for p in params:
        if p.name in given:
            try:
                config[p.name] = p.validate(given[p.name])
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None
        else:  # normalised like a given value, so equal settings compare equal
            config[p.name] = p.default if p.default is None else p.validate(p.default)
    return config


def _closest(name: str, known: dict) -> str | None:
    import difflib

    match = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return match[0] if match else None
