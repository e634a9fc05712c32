"""The FOL scenario distribution of a config: one FOL scenario or a weighted mixture (cfg.env)."""

from __future__ import annotations

from typing import Any

from rmft_jax import envs


def build_env(cfg: Any) -> Any:
    """The training/evaluation scenario distribution: one FOL scenario or a weighted mixture."""
    e = cfg.env
    components = tuple(envs.make_fol(name, horizon=e.horizon, num_actions=e.num_actions) for name in e.scenarios)
    if len(components) == 1:
        return components[0]
    return envs.MixtureFOL(components=components, weights=tuple(float(w) for w in e.weights)).validate()
