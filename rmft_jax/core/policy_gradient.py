"""RL fine-tuning as an update rule of the loop: PPO-style clipped policy gradient on the model's own rollouts.

Every rollout is kept; its advantage is its return minus the mean return of its scenario's L rollouts
(a per-scenario baseline), divided by the batch's standard deviation. The return is the rollout's
total reward (`pg_return="reward"`) or minus its regret (`"regret"`): the same optimizer with two
signals. Where the L rollouts of a scenario share one comparator (FOL with shared tables), regret =
best - reward with a per-scenario constant, so the two advantages are identical by construction.

The update takes `num_steps` optimizer steps on one batch: the first is REINFORCE with a baseline
(the ratio is 1), later ones are off-policy and the ratio pi_new / pi_old is clipped to [1 - clip,
1 + clip] as in PPO (Schulman et al. 2017), so the step count matches SFT's without running away.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from rmft_jax.core import sft

RETURNS = ("reward", "regret")


class PGBatch(NamedTuple):
    """B input rows, each with G rollouts: inputs (B, T, D), actions (B, G, T), advantages (B, G)."""

    inputs_BxTxD: jax.Array
    actions_BxGxT: jax.Array
    advantages_BxG: jax.Array


def advantages(pg_return: str, regret_MxL: jax.Array, reward_MxL: jax.Array) -> jax.Array:
    """Return minus its scenario's mean over the L rollouts, over the batch's std (M, L)."""
    return_MxL = reward_MxL if pg_return == "reward" else -regret_MxL
    centered_MxL = return_MxL - jnp.mean(return_MxL, axis=1, keepdims=True)
    return centered_MxL / (jnp.std(centered_MxL) + 1e-6)


def action_log_probs(logits_BxTxA: jax.Array, actions_BxGxT: jax.Array, temperature: float) -> jax.Array:
    """log pi(a) (B, G, T) of each rollout's actions under softmax(logits / temperature)."""
    log_probs_Bx1xTxA = jax.nn.log_softmax(logits_BxTxA / temperature, axis=-1)[:, None]
    return jnp.take_along_axis(log_probs_Bx1xTxA, actions_BxGxT[..., None], axis=-1)[..., 0]


def clipped_surrogate(log_probs_BxGxT, old_log_probs_BxGxT, advantages_BxG, clip: float) -> jax.Array:
    """PPO's loss: -mean over rollouts and rounds of min(ratio A, clip(ratio) A)."""
    ratio = jnp.exp(log_probs_BxGxT - old_log_probs_BxGxT)
    adv = advantages_BxG[..., None]
    return -jnp.mean(jnp.minimum(ratio * adv, jnp.clip(ratio, 1.0 - clip, 1.0 + clip) * adv))


def make_update(
    apply_fn: Callable,
    optimizer: optax.GradientTransformation,
    num_steps: int,
    temperature: float = 1.0,
    clip: float = 0.2,
) -> Callable:
    """update(params, opt_state, PGBatch) -> (params, opt_state, losses (num_steps,))."""

    def update(params: Any, opt_state: Any, batch: PGBatch):
        old_BxGxT = jax.lax.stop_gradient(
            action_log_probs(apply_fn(params, batch.inputs_BxTxD), batch.actions_BxGxT, temperature)
        )

        def loss_fn(p):
            new_BxGxT = action_log_probs(apply_fn(p, batch.inputs_BxTxD), batch.actions_BxGxT, temperature)
            return clipped_surrogate(new_BxGxT, old_BxGxT, batch.advantages_BxG, clip)

        return sft.gradient_steps(loss_fn, params, opt_state, optimizer, num_steps)

    return update
