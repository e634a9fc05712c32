"""Which rollouts to imitate: the k best of each scenario's L trajectories by a selection signal.

  regret (default): the k lowest-regret trajectories (Iterative RMFT);
  reward: the k highest-reward trajectories (the paper's ablation);
  random: k trajectories chosen uniformly at random (no filter).
With FOL scenarios whose L rollouts share one reward table, regret and reward rank the same
trajectories (the best action's total is common to all L); they differ when the comparator varies
across rollouts (bandit pseudo-regret, non-stationary or adaptive environments).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

SELECTIONS = ("regret", "reward", "random")


def selection_scores(rule: str, regret_MxL: jax.Array, reward_MxL: jax.Array, key: jax.Array) -> jax.Array:
    """Scores (M, L) where higher is better under `rule`."""
    if rule == "regret":
        return -regret_MxL
    if rule == "reward":
        return reward_MxL
    return jax.random.uniform(key, regret_MxL.shape)


def top_k_indices(scores_MxL: jax.Array, k: int) -> jax.Array:
    """Indices (M, k) of the k highest scores of each row (ties: the lower index first)."""
    if k == 1:
        return jnp.argmax(scores_MxL, axis=-1)[:, None]  # lax.top_k sorts whole rows on CPU
    return jax.lax.top_k(scores_MxL, k)[1]


def gather_rollouts(values_MxLx: jax.Array, indices_Mxk: jax.Array) -> jax.Array:
    """Pick rollouts (M, k, ...) out of per-rollout values (M, L, ...)."""
    expand = indices_Mxk.reshape(indices_Mxk.shape + (1,) * (values_MxLx.ndim - 2))
    return jnp.take_along_axis(values_MxLx, expand, axis=1)
