"""FOL rollouts of a model's policy: L trajectories per scenario from one causal forward pass.

In oblivious full-information online learning the model's inputs (past reward vectors) do not
depend on its actions, so the policies of all T rounds come from one masked forward pass, and the
L trajectories of a scenario differ only in where their randomness enters:

  exploration="sample" (default): a_t ~ pi_t = softmax(logits_t / temperature); a trajectory's
      regret is the realized regret of its sampled actions; its SFT target is the one-hot actions.
  exploration="logit_noise": each trajectory plays softmax((logits_t + noise) / temperature) with
      noise ~ N(0, noise_std^2) drawn once per trajectory and round; its regret is the expected
      regret of those noisy policies; its SFT target is the noisy policy itself.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from rmft_jax import regret

EXPLORATIONS = ("sample", "logit_noise")


class Trajectories(NamedTuple):
    """L rollouts of M scenarios: final regret (M, L) and SFT targets (M, L, T, A) as distributions."""

    regret_MxL: jax.Array
    reward_MxL: jax.Array
    targets_MxLxTxA: jax.Array


def fol_rollouts(logits_MxTxA: jax.Array, rewards_MxTxA: jax.Array, key: jax.Array, num_rollouts: int,
                 temperature: float = 1.0, exploration: str = "sample",
                 noise_std: float = 1.0) -> Trajectories:
    """Roll out `num_rollouts` trajectories per scenario from the model's logits (see module doc)."""
    num, horizon, num_actions = logits_MxTxA.shape
    best_M = jnp.max(jnp.sum(rewards_MxTxA, axis=1), axis=-1)  # best fixed action's total reward
    if exploration == "sample":
        shape = (num_rollouts, num, horizon)
        actions_LxMxT = jax.random.categorical(key, logits_MxTxA / temperature, axis=-1, shape=shape)
        targets_MxLxTxA = jax.nn.one_hot(jnp.moveaxis(actions_LxMxT, 0, 1), num_actions, dtype=rewards_MxTxA.dtype)
    else:
        noise = noise_std * jax.random.normal(key, (num, num_rollouts, horizon, num_actions), logits_MxTxA.dtype)
        targets_MxLxTxA = jax.nn.softmax((logits_MxTxA[:, None] + noise) / temperature, axis=-1)
    reward_MxL = jnp.einsum("mlta,mta->ml", targets_MxLxTxA, rewards_MxTxA)
    return Trajectories(best_M[:, None] - reward_MxL, reward_MxL, targets_MxLxTxA)


def expected_regret_curves(logits_NxTxA: jax.Array, rewards_NxTxA: jax.Array, temperature: float = 1.0) -> jax.Array:
    """Expected static regret curve (N, T) of the policies softmax(logits / temperature)."""
    policies_NxTxA = jax.nn.softmax(logits_NxTxA / temperature, axis=-1)
    return regret.static_regret(rewards_NxTxA, policies_NxTxA)
