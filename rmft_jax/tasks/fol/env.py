"""The FOL scenario distribution of a config: one FOL scenario or a weighted mixture (cfg.env)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rmft_jax import envs


def build_env(cfg: Any) -> Any:
    """The training/evaluation scenario distribution: one FOL scenario or a weighted mixture."""
    e = cfg.env
    return mixture(e.scenarios, e.weights, e.horizon, e.num_actions)


def mixture(scenarios: Sequence[str], weights: Sequence[float], horizon: int, num_actions: int) -> Any:
    """The named FOL scenarios as one distribution: the scenario itself when only one is named."""
    components = tuple(envs.make_fol(name, horizon=horizon, num_actions=num_actions) for name in scenarios)
    if len(components) == 1:
        return components[0]
    return envs.MixtureFOL(components=components, weights=tuple(float(w) for w in weights)).validate()
