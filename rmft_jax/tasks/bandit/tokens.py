"""Model input for bandits: one token per past round, built from the learner's own action and reward.

Token of round t (D = 2A, or 2A + 1 with the time feature):

    x_t = (one_hot(a_t), r_t * one_hot(a_t) [, t / T])

A running sum of these tokens holds each arm's pull count and reward sum, the sufficient statistics
of a stationary bandit, so a single linear-attention layer can express count- and mean-based
policies; both models append or learn their own bias. Round t's policy sees x_0 .. x_{t-1} only.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def token_dim(num_actions: int, time_feature: bool = False) -> int:
    """The token width D: 2A, plus one for the t / T feature."""
    return 2 * num_actions + int(time_feature)


def encode(
    actions_xT: jax.Array,
    rewards_xT: jax.Array,
    num_actions: int,
    time_feature: bool = False,
    horizon: int | None = None,
    first_round: jax.Array | int = 0,
) -> jax.Array:
    """Tokens (..., T, D) of the rounds whose actions (..., T) int and observed rewards (..., T) are given.

    `horizon` scales the time feature (default: the length of the last axis); `first_round` is the
    round index of the first entry (a single round's token is `encode(a[..., None], r[..., None], ...,
    first_round=t)`).
    """
    onehot_xTxA = jax.nn.one_hot(actions_xT, num_actions, dtype=jnp.float32)
    rewards_xT = jnp.asarray(rewards_xT, jnp.float32)
    parts = [onehot_xTxA, onehot_xTxA * rewards_xT[..., None]]
    if time_feature:
        length = actions_xT.shape[-1]
        horizon = length if horizon is None else horizon
        rounds_T = (first_round + jnp.arange(length)).astype(jnp.float32) / horizon
        parts.append(jnp.broadcast_to(rounds_T[:, None], actions_xT.shape + (1,)))
    return jnp.concatenate(parts, axis=-1)
