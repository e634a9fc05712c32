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

from rmft_jax.models import linear_attention


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


def arm_moments(tokens_xTxD: jax.Array, num_actions: int) -> jax.Array:
    """Exclusive prefix statistics (..., T, 3A + 1) of tokens without the time feature: per arm the pulls n_a, the
    reward sum s_a and the sum of squared rewards q_a over rounds i < t, then t.

    They determine the tokens' prefix second moments S_t = sum_{i<t} x_i x_i^T (x = (e_a, r e_a, 1)), so a single
    linear-attention layer's logits b + V S_t w follow from them (`moments_projection`) without a prefix sum over
    rounds: SFT computes them once per update (sft.form='moments'), since its inputs do not change during the steps.
    """
    pulls_xTxA = tokens_xTxD[..., :num_actions]
    rewards_xTxA = tokens_xTxD[..., num_actions : 2 * num_actions]  # r_i e_{a_i}
    ones_xTx1 = jnp.ones(tokens_xTxD.shape[:-1] + (1,), tokens_xTxD.dtype)
    terms_xTxS = jnp.concatenate([pulls_xTxA, rewards_xTxA, rewards_xTxA**2, ones_xTx1], axis=-1)
    return linear_attention.exclusive_cumsum(terms_xTxS, axis=-2)


def moments_projection(w_D1: jax.Array, num_actions: int) -> jax.Array:
    """(3A + 1, 2A + 1): `arm_moments` times it is S_t w = sum_{i<t} x_i <x_i, w>, where <x, w> = w_a + r w_{A+a} + w_1.

    Arm a's pull coordinate is n_a (w_a + w_1) + s_a w_{A+a}, its reward coordinate s_a (w_a + w_1) + q_a w_{A+a},
    and the bias coordinate sum_a (n_a w_a + s_a w_{A+a}) + t w_1.
    """
    a, arms = num_actions, jnp.arange(num_actions)
    w_pull_A, w_reward_A, w_one = w_D1[:a], w_D1[a : 2 * a], w_D1[2 * a]
    n_row, s_row, q_row, t_row = arms, a + arms, 2 * a + arms, 3 * a
    pull_col, reward_col, one_col = arms, a + arms, 2 * a
    p = jnp.zeros((3 * a + 1, 2 * a + 1), w_D1.dtype)
    p = p.at[n_row, pull_col].set(w_pull_A + w_one).at[s_row, pull_col].set(w_reward_A)
    p = p.at[s_row, reward_col].set(w_pull_A + w_one).at[q_row, reward_col].set(w_reward_A)
    return p.at[n_row, one_col].set(w_pull_A).at[s_row, one_col].set(w_reward_A).at[t_row, one_col].set(w_one)
