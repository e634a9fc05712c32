"""Pieces shared by the scenario samplers: batching by vmap, name registries."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any

import jax

from rmft_jax._checks import check_choice, check_int


def check_shape_fields(horizon: Any, num_actions: Any) -> None:
    """Raise ValueError unless horizon T >= 2 and num_actions A >= 2 are integers (static shapes)."""
    check_int("horizon", horizon, 2, "regret needs at least two rounds")
    check_int("num_actions", num_actions, 2, "a decision needs at least two actions")


def sample_batch(params: Any, key: jax.Array, num: int, method: str = "sample") -> Any:
    """Draw `num` scenarios from `params` by vmapping `params.<method>` over `jax.random.split(key, num)`.

    Works for every scenario class in `rmft_jax.envs`; the leaves of the result get a leading axis
    of size `num` (e.g. `rewards_NxTxA`). Validates `params` first, so bad input fails before
    anything compiles. Under `jax.jit`, pass `num` (and `method`) as static arguments.
    `method="sample_with_label"` batches `MixtureFOL`'s labelled draws. The vmap is compiled once per
    (scenario class, static fields, num, method); float fields are traced, so changing them does
    not recompile.
    """
    check_int("num", num, 1, "a batch needs at least one scenario")
    if not callable(getattr(params, "validate", None)) or not callable(getattr(params, method, None)):
        raise ValueError(
            f"params must be a scenario object with validate() and {method}(key), "
            f"got {type(params).__name__}; build one with make_fol, make_bandit or make_nsmab."
        )
    params.validate()
    return _sample_batch(params, key, num, method)


@functools.partial(jax.jit, static_argnums=(2, 3))
def _sample_batch(params: Any, key: jax.Array, num: int, method: str) -> Any:
    """Compiled vmap of `params.<method>`; params is a pytree (its static fields key the cache)."""
    return jax.vmap(getattr(params, method))(jax.random.split(key, num))


def make_from_registry(kind: str, registry: Mapping[str, type], name: str, kwargs: dict) -> Any:
    """Build and validate `registry[name](**kwargs)`, turning unknown names or fields into ValueErrors."""
    check_choice(f"{kind} scenario", name, registry)
    cls = registry[name]
    fields = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(kwargs) - set(fields))
    if unknown:
        raise ValueError(
            f"{kind} scenario {name!r} has no field(s) {', '.join(map(repr, unknown))}; "
            f"its fields are {', '.join(map(repr, fields))}."
        )
    return cls(**kwargs).validate()
