"""Worst found regret of an FOL policy: the gradient search and every adaptive adversary, combined.

`worst_case_regret(policy_fn, T, A, key, budget)` runs
  * each policy-adaptive adversary (alternating_pair on every ordered pair of actions), exact;
  * each action-adaptive adversary, a Monte Carlo mean over `budget.samples` sampled paths;
  * the gradient search from `budget.restarts` random starts plus the policy-adaptive tables;
and reports each method's regret and the largest. Every number is a lower bound on the policy's
worst-case expected regret over [0, 1]^{T x A} (a search can miss the true worst sequence).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from rmft_jax import _checks
from rmft_jax.attacks import adaptive, gradient


@dataclasses.dataclass(frozen=True)
class AttackBudget:
    """The search budget: gradient restarts / steps / step size / init spread / smoothing; MC paths."""

    restarts: int = 64
    steps: int = 300
    learning_rate: float = 0.1
    init_scale: float = 2.0
    temperature: float = 0.05
    samples: int = 256  # sampled paths per action-adaptive adversary

    @classmethod
    def from_config(cls, cfg) -> AttackBudget:
        """The budget fields of an ml_collections config (unknown fields are ignored)."""
        return cls(**{f.name: cfg[f.name] for f in dataclasses.fields(cls) if f.name in cfg}).validate()

    def gradient(self) -> gradient.GradientBudget:
        """The gradient-search part of the budget."""
        return gradient.GradientBudget(self.restarts, self.steps, self.learning_rate, self.init_scale, self.temperature)

    def validate(self) -> AttackBudget:
        """Raise ValueError on a budget that cannot run; return self."""
        self.gradient().validate()
        _checks.check_int("attack budget samples", self.samples, 1)
        return self


def adaptive_rows(num_actions: int, samples: int) -> tuple[jax.Array, jax.Array]:
    """(kind index (B,), pair (B, 2)) of every adaptive row: alternating_pair on each ordered pair, one
    row for each other policy-adaptive adversary (its table is deterministic), `samples` sampled paths
    for each action-adaptive one."""
    kinds, pairs = [], []
    for index, name in enumerate(adaptive.ADVERSARIES):
        rows_Rx2 = (
            adaptive.all_pairs(num_actions)
            if name == "alternating_pair"
            else jnp.zeros((1 if name in adaptive.POLICY_ADAPTIVE else samples, 2), jnp.int32)
        )
        kinds.append(jnp.full((rows_Rx2.shape[0],), index, jnp.int32))
        pairs.append(rows_Rx2)
    return jnp.concatenate(kinds), jnp.concatenate(pairs)


def adaptive_regrets(policy_fn, horizon: int, num_actions: int, key: jax.Array, samples: int) -> tuple[dict, jax.Array]:
    """Regret of the policy against each adaptive adversary, and the policy-adaptive tables (P, T, A).

    All adversaries play in one batch (one compilation): policy-adaptive ones report the largest
    regret over their rows, action-adaptive ones the mean over their sampled paths and its stderr.
    """
    kind_B, pair_Bx2 = adaptive_rows(num_actions, samples)
    kinds = tuple(adaptive.ADVERSARIES)
    play = jax.jit(
        lambda k: adaptive.play(policy_fn, adaptive.by_row(kind_B, kinds), horizon, num_actions, pair_Bx2, k)
    )
    table_BxTxA, probs_BxTxA, _ = play(key)
    regret_B = np.asarray(adaptive.expected_regret(table_BxTxA, probs_BxTxA))
    kind_B = np.asarray(kind_B)
    out = {}
    for index, name in enumerate(kinds):
        rows = regret_B[kind_B == index]
        if name in adaptive.POLICY_ADAPTIVE:
            out[name] = float(np.max(rows))
        else:
            out[name] = float(np.mean(rows))
            out[f"{name}_stderr"] = float(np.std(rows) / math.sqrt(len(rows)))
    policy_rows = np.isin(kind_B, [kinds.index(n) for n in adaptive.POLICY_ADAPTIVE])
    return out, table_BxTxA[policy_rows]


def worst_case_regret(
    policy_fn, horizon: int, num_actions: int, key: jax.Array, budget: AttackBudget = AttackBudget()
) -> dict:
    """Every method's found regret at T, the largest ('worst') and which method found it ('worst_method')."""
    budget.validate()
    key_adaptive, key_gradient = jax.random.split(key)
    found, starts_BxTxA = adaptive_regrets(policy_fn, horizon, num_actions, key_adaptive, budget.samples)
    search = gradient.gradient_attack(policy_fn, horizon, num_actions, key_gradient, budget.gradient(), starts_BxTxA)
    found["gradient"], found["gradient_binary"] = search["regret"], search["regret_binary"]
    candidates = {k: v for k, v in found.items() if not k.endswith("_stderr")}
    worst_method = max(candidates, key=candidates.get)
    return {
        "worst": candidates[worst_method],
        "worst_method": worst_method,
        "by_method": found,
        "table": np.asarray(search["table"]),
    }


def growth_exponent(horizons: Sequence[int], regrets: Sequence[float]) -> float:
    """Least-squares slope of log regret on log T (NaN if any regret is <= 0 or fewer than 2 points)."""
    values = np.asarray(regrets, float)
    if len(values) < 2 or np.any(values <= 0):
        return float("nan")
    return float(np.polyfit(np.log(np.asarray(horizons, float)), np.log(values), 1)[0])
