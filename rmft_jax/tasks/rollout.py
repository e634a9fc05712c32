"""FOL rollouts of a model's policy: L trajectories per scenario from one causal forward pass.

In oblivious full-information online learning the model's inputs (past reward vectors) do not
depend on its actions, so the policies of all T rounds come from one masked forward pass, and the
L trajectories of a scenario differ only in where their randomness enters. Two knobs:

  exploration="sample" (default): every trajectory plays pi_t = softmax(logits_t / temperature);
  exploration="logit_noise": trajectory l plays softmax((logits_t + noise_lt) / temperature), with
      noise ~ N(0, noise_std^2) drawn per trajectory and round.
  target="actions" (default): a_t is sampled from the trajectory's policy; its regret is the
      realized regret of those actions and SFT imitates them (cross-entropy on one-hot targets);
  target="policy": the trajectory is its sequence of policies; its regret is their expected regret
      and SFT imitates the policies themselves (needs logit_noise, or all L would be identical).
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from rmft_jax import regret

EXPLORATIONS = ("sample", "logit_noise")
TARGETS = ("actions", "policy")


class Trajectories(NamedTuple):
    """L rollouts of M scenarios: final regret (M, L) and SFT targets (M, L, T, A) as distributions."""

    regret_MxL: jax.Array
    reward_MxL: jax.Array
    targets_MxLxTxA: jax.Array


def fol_rollouts(logits_MxTxA: jax.Array, rewards_MxTxA: jax.Array, key: jax.Array, num_rollouts: int,
                 temperature: float = 1.0, exploration: str = "sample", noise_std: float = 1.0,
                 target: str = "actions") -> Trajectories:
    """Roll out `num_rollouts` trajectories per scenario from the model's logits (see module doc)."""
    num, horizon, num_actions = logits_MxTxA.shape
    key_noise, key_actions = jax.random.split(key)
    logits_MxLxTxA = jnp.broadcast_to(logits_MxTxA[:, None], (num, num_rollouts, horizon, num_actions))
    if exploration == "logit_noise":
        logits_MxLxTxA = logits_MxLxTxA + noise_std * jax.random.normal(key_noise, logits_MxLxTxA.shape)
    if target == "actions":
        actions_MxLxT = jax.random.categorical(key_actions, logits_MxLxTxA / temperature, axis=-1)
        targets_MxLxTxA = jax.nn.one_hot(actions_MxLxT, num_actions, dtype=rewards_MxTxA.dtype)
    else:
        targets_MxLxTxA = jax.nn.softmax(logits_MxLxTxA / temperature, axis=-1)
    best_M = jnp.max(jnp.sum(rewards_MxTxA, axis=1), axis=-1)  # the best fixed action's total reward
    reward_MxL = jnp.einsum("mlta,mta->ml", targets_MxLxTxA, rewards_MxTxA)
    return Trajectories(best_M[:, None] - reward_MxL, reward_MxL, targets_MxLxTxA)


def expected_regret_curves(logits_NxTxA: jax.Array, rewards_NxTxA: jax.Array, temperature: float = 1.0) -> jax.Array:
    """Expected static regret curve (N, T) of the policies softmax(logits / temperature)."""
    policies_NxTxA = jax.nn.softmax(logits_NxTxA / temperature, axis=-1)
    return regret.static_regret(rewards_NxTxA, policies_NxTxA)
