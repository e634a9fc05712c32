"""Input validation shared by every public function: clear ValueErrors before anything compiles."""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

import jax
import numpy as np


def is_concrete(x: Any) -> bool:
    """True when `x` holds a value now (not a tracer inside jit/vmap), so it can be checked."""
    return not isinstance(x, jax.core.Tracer)


def check_positive(name: str, value: Any, allow_zero: bool = False) -> None:
    """Raise ValueError unless every entry of a concrete `value` is positive (or >= 0)."""
    if not is_concrete(value):
        return
    arr = np.asarray(value)
    bad = arr < 0 if allow_zero else arr <= 0
    if np.any(bad) or np.any(np.isnan(arr)):
        need = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be {need}, got {value!r}; pass a {need} number.")


def check_int(name: str, value: Any, low: int = 0, why: str = "") -> None:
    """Raise ValueError unless `value` is an integer (not a bool, not a float) >= `low`; `why` is added as a hint."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        hint = f"; {why}" if why else ""
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}{hint}.")


def check_finite(name: str, value: Any) -> None:
    """Raise ValueError unless every entry of a concrete `value` is a finite number."""
    if is_concrete(value) and not np.all(np.isfinite(np.asarray(value, dtype=float))):
        raise ValueError(f"{name} must be finite, got {value!r}.")


def check_in_range(name: str, value: Any, low: float, high: float) -> None:
    """Raise ValueError unless a concrete `value` lies in [low, high]."""
    if not is_concrete(value):
        return
    arr = np.asarray(value)
    if np.any(arr < low) or np.any(arr > high) or np.any(np.isnan(arr)):
        raise ValueError(f"{name} must lie in [{low}, {high}], got {value!r}.")


def check_choice(name: str, value: str, choices: Iterable[str]) -> None:
    """Raise ValueError unless `value` is one of `choices`, listing them."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(map(repr, choices))}.")


def check_horizon(horizon: int, name: str = "horizon") -> None:
    """Raise ValueError unless the horizon T is an integer >= 2 (a regret curve needs two rounds)."""
    if int(horizon) != horizon or horizon < 2:
        raise ValueError(f"{name} must be an integer >= 2, got {horizon!r}; regret needs at least two rounds.")


def check_min_ndim(name: str, x: Any, min_ndim: int, layout: str) -> None:
    """Raise ValueError unless `x` has at least `min_ndim` axes; `layout` names them, e.g. '(..., T, A)'."""
    if np.ndim(x) < min_ndim:
        raise ValueError(f"{name} must have shape {layout}, got shape {np.shape(x)}.")


def check_same_shape(name_a: str, a: Any, name_b: str, b: Any) -> None:
    """Raise ValueError unless `a` and `b` have the same shape."""
    if np.shape(a) != np.shape(b):
        raise ValueError(f"{name_a} and {name_b} must have the same shape, got {np.shape(a)} and {np.shape(b)}.")
