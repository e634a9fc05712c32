"""The FOL reference registry: every full-information baseline by name, with what it is allowed to know.

`prior_free` algorithms use nothing but the rewards seen so far (no learning rate tuned on the data,
no knowledge of the scenario distribution); the best of them on a set of draws is the "best prior-free
classical" reference. `tuned` ones pick eta on `eta_grid` by their regret on the very draws they are
scored on (in-sample: optimistic, labelled so). The Bayes policy of the training distribution
(`fol_bayes`) knows the distribution; it is the limit, not a registry entry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rmft_jax import regret
from rmft_jax.baselines import adaptive_hedge, full_info

Array = Any


class FOLReference(NamedTuple):
    """A full-information baseline: policies (..., T, A) -> (..., T, A), given eta when it is tuned."""

    policies: Callable[..., jax.Array]  # (rewards, eta) when tuned, else (rewards,)
    tuned: bool
    summary: str


FOL_ALGORITHMS: dict[str, FOLReference] = {
    "ftl": FOLReference(full_info.ftl, False, "Follow-the-Leader"),
    "hedge_theory": FOLReference(full_info.hedge, False, "Hedge, eta = sqrt(8 ln A / T) (horizon known)"),
    "hedge_anytime": FOLReference(
        lambda r: full_info.hedge(r, schedule="anytime"), False, "Hedge, eta_t = sqrt(8 ln A / t)"
    ),
    "adahedge": FOLReference(adaptive_hedge.adahedge, False, "AdaHedge (de Rooij et al. 2014)"),
    "flipflop": FOLReference(
        adaptive_hedge.flipflop, False, "FlipFlop, phi = 2.37, alpha = 1.243 (de Rooij et al. 2014)"
    ),
    "hedge_tuned": FOLReference(full_info.ftrl, True, "Hedge, eta grid-tuned in-sample"),
    "optimistic_hedge_tuned": FOLReference(
        adaptive_hedge.optimistic_hedge, True, "optimistic Hedge (hint: last reward vector), eta grid-tuned in-sample"
    ),
    "l2_ftrl_tuned": FOLReference(
        lambda r, eta: full_info.ftrl(r, eta, "l2"), True, "Euclidean FTRL, eta grid-tuned in-sample"
    ),
}
PRIOR_FREE = tuple(name for name, ref in FOL_ALGORITHMS.items() if not ref.tuned)


def tune(name: str, rewards_NxTxA: Array, grid: Sequence[float]) -> tuple[float, list[float]]:
    """(the eta of `grid` with the least mean regret at T on the draws, each eta's mean regret at T)."""
    policies = FOL_ALGORITHMS[name].policies
    finals = [float(jnp.mean(regret.static_regret(rewards_NxTxA, policies(rewards_NxTxA, eta))[:, -1])) for eta in grid]
    return float(grid[int(np.argmin(finals))]), finals


def regret_curves(name: str, rewards_NxTxA: Array, grid: Sequence[float] = ()) -> tuple[jax.Array, dict]:
    """(static regret curves (N, T), info) of reference `name`; info holds eta and the grid for tuned ones."""
    if name not in FOL_ALGORITHMS:
        raise ValueError(f"unknown FOL reference {name!r}; choose one of {sorted(FOL_ALGORITHMS)}.")
    ref = FOL_ALGORITHMS[name]
    if not ref.tuned:
        return regret.static_regret(rewards_NxTxA, ref.policies(rewards_NxTxA)), {}
    if not grid:
        raise ValueError(f"{name} is tuned on an eta grid; pass a non-empty grid.")
    if name == "hedge_tuned":  # the scan path: the same numbers as ftrl(), without the policies
        eta, finals = full_info.tune_hedge_eta(rewards_NxTxA, list(grid))
        return full_info.hedge_regret(rewards_NxTxA, eta), {"eta": float(eta), "grid_regret": finals}
    eta, finals = tune(name, rewards_NxTxA, grid)
    return regret.static_regret(rewards_NxTxA, ref.policies(rewards_NxTxA, eta)), {"eta": eta, "grid_regret": finals}


def best_of(regret_by_name: dict[str, float], names: Sequence[str] = PRIOR_FREE) -> tuple[str, float]:
    """(name, regret) of the lowest regret among `names` present in regret_by_name."""
    present = [(n, regret_by_name[n]) for n in names if n in regret_by_name]
    if not present:
        raise ValueError(f"none of {list(names)} was measured; have {sorted(regret_by_name)}.")
    return min(present, key=lambda kv: kv[1])
