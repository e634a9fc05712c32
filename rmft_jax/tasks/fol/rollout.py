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
And how sampled actions are drawn (`sampler`, required: with target="actions"; target="policy" samples nothing):
  "gumbel" (configs saved before the fast path, fol.ADDED_FIELD_DEFAULTS): `jax.random.categorical` on the
      (M, L, T, A) logits; targets are one-hot (M, L, T, A);
  "inverse_cdf" (the configs' default): one uniform per round and trajectory, integer actions (M, L, T)
      and no one-hot until the kept k are known (the fast path; another random stream than "gumbel").
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from rmft_jax import regret

EXPLORATIONS = ("sample", "logit_noise")
TARGETS = ("actions", "policy")
SAMPLERS = ("gumbel", "inverse_cdf")


class Trajectories(NamedTuple):
    """L rollouts of M scenarios: final regret and reward (M, L), and either SFT targets (M, L, T, A) as
    distributions or, with the inverse-CDF sampler, the sampled actions (M, L, T) (the other is None)."""

    regret_MxL: jax.Array
    reward_MxL: jax.Array
    targets_MxLxTxA: jax.Array | None
    actions_MxLxT: jax.Array | None = None


def inverse_cdf_sample(probs_xA: jax.Array, uniforms_x: jax.Array) -> jax.Array:
    """Actions (...) with P(a) = probs[a]: the first a whose cumulative probability exceeds u."""
    cdf_xA = jnp.cumsum(probs_xA, axis=-1)
    actions = jnp.sum(cdf_xA <= uniforms_x[..., None] * cdf_xA[..., -1:], axis=-1)
    return jnp.minimum(actions, probs_xA.shape[-1] - 1)  # guards u * total rounding to the last edge


def sampled_regret_and_reward(rewards_xTxA: jax.Array, actions_xT: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Realized static regret and total reward (...) of integer actions (..., T) on reward tables (..., T, A).

    The leading axes broadcast (tables (M, 1, T, A) against actions (M, L, T)), so no one-hot is built.
    """
    played_xT = jnp.take_along_axis(rewards_xTxA, actions_xT[..., None], axis=-1)[..., 0]
    reward_x = jnp.sum(played_xT, axis=-1)
    return jnp.max(jnp.sum(rewards_xTxA, axis=-2), axis=-1) - reward_x, reward_x


def _inverse_cdf_rollouts(logits_MxLxTxA, rewards_MxTxA, key, num_rollouts, temperature) -> Trajectories:
    """Sampled actions from one uniform per round and trajectory; rewards gathered, no one-hot.

    logits_MxLxTxA may have L = 1 (every rollout plays the model's policy: it broadcasts) or L rows (logit noise).
    """
    num, _, horizon, _ = logits_MxLxTxA.shape
    probs_MxLxTxA = jax.nn.softmax(logits_MxLxTxA / temperature, axis=-1)
    uniforms_MxLxT = jax.random.uniform(key, (num, num_rollouts, horizon))
    actions_MxLxT = inverse_cdf_sample(probs_MxLxTxA, uniforms_MxLxT)
    regret_MxL, reward_MxL = sampled_regret_and_reward(rewards_MxTxA[:, None], actions_MxLxT)
    return Trajectories(regret_MxL, reward_MxL, None, actions_MxLxT)


def fol_rollouts(
    logits_MxTxA: jax.Array,
    rewards_MxTxA: jax.Array,
    key: jax.Array,
    num_rollouts: int,
    temperature: float = 1.0,
    exploration: str = "sample",
    noise_std: float = 1.0,
    target: str = "actions",
    *,
    sampler: str,
) -> Trajectories:
    """Roll out `num_rollouts` trajectories per scenario from the model's logits (see module doc)."""
    num, horizon, num_actions = logits_MxTxA.shape
    key_noise, key_actions = jax.random.split(key)
    logits_MxLxTxA = jnp.broadcast_to(logits_MxTxA[:, None], (num, num_rollouts, horizon, num_actions))
    if exploration == "logit_noise":
        logits_MxLxTxA = logits_MxLxTxA + noise_std * jax.random.normal(key_noise, logits_MxLxTxA.shape)
    if sampler == "inverse_cdf" and target == "actions":
        noisy = exploration == "logit_noise"  # without noise the L rollouts share one policy (no L-fold softmax)
        return _inverse_cdf_rollouts(
            logits_MxLxTxA if noisy else logits_MxTxA[:, None], rewards_MxTxA, key_actions, num_rollouts, temperature
        )
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
