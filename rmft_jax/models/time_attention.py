"""Single-layer linear attention whose query reads the round: a learnable step-size schedule.

The attention weight of past token x_i = (r_i, 1) at round t is <M^T x_i, q_t> with round features
q_t = (1, 1/sqrt(t + 1)), so

    logits_t = b + [sum_{i<t} (V x_i) (M^T x_i)^T] q_t.

The bracket is a running sum of A x 2 outer products: the full pass is one exclusive prefix sum, a
recurrent step is O(1). Hedge(eta) (weight (1, 0) on the bias) and anytime Hedge with eta_t =
c / sqrt(t + 1) (weight (0, 1) on the bias) are both inside the family (`anytime_hedge_params`).
The constant-query model cannot shrink its step size with t, so its worst-case regret grows
linearly in T beyond the horizon it was tuned for; this one can.
"""

from __future__ import annotations

from typing import NamedTuple

import flax.nnx as nnx
import jax
import jax.numpy as jnp

from rmft_jax._checks import check_positive
from rmft_jax.models.linear_attention import PREFIX_SUMS, _check_num_actions, check_rewards, exclusive_prefix_sum_matmul

NUM_ROUND_FEATURES = 2


def round_features(t: jax.Array) -> jax.Array:
    """q_t = (1, 1/sqrt(t + 1)) for 0-indexed rounds t (..., ) -> (..., 2)."""
    t = jnp.asarray(t, jnp.float32)
    return jnp.stack([jnp.ones_like(t), jax.lax.rsqrt(t + 1.0)], axis=-1)


class TimeState(NamedTuple):
    """Recurrent state: the running sum of outer products (..., A, 2) and the round it waits for."""

    sums: jax.Array
    t: jax.Array


class TimeLinearAttention(nnx.Module):
    """Linear attention over past reward tokens with a round-dependent query q_t (full information)."""

    def __init__(
        self,
        num_actions: int,
        *,
        input_dim: int | None = None,
        init_scale: float = 0.1,
        prefix_sum: str = "cumsum",
        rngs: nnx.Rngs,
    ):
        """Draw V (A x D+1) and M (D+1 x 2) from N(0, init_scale^2); b = 0; D = input_dim; prefix_sum as
        LinearAttention's."""
        _check_num_actions(num_actions)
        if prefix_sum not in PREFIX_SUMS:
            raise ValueError(f"prefix_sum must be one of {list(PREFIX_SUMS)}, got {prefix_sum!r}.")
        self.prefix_sum = prefix_sum
        check_positive("init_scale", init_scale, allow_zero=True)
        input_dim = num_actions if input_dim is None else input_dim
        if int(input_dim) != input_dim or input_dim < 1:
            raise ValueError(f"input_dim must be a positive integer, got {input_dim!r}.")
        self.num_actions, self.input_dim = num_actions, input_dim
        normal = jax.nn.initializers.normal(stddev=init_scale)
        self.V = nnx.Param(normal(rngs.params(), (num_actions, input_dim + 1)))
        self.M = nnx.Param(normal(rngs.params(), (input_dim + 1, NUM_ROUND_FEATURES)))
        self.b = nnx.Param(jnp.zeros((num_actions,)))

    def contributions(self, rewards_xD: jax.Array) -> jax.Array:
        """Per-token outer products (V x_i)(M^T x_i)^T: rewards (..., D) -> (..., A, 2)."""
        rewards_xD = jnp.asarray(rewards_xD, self.V.dtype)
        tokens_xD1 = jnp.concatenate([rewards_xD, jnp.ones(rewards_xD.shape[:-1] + (1,), rewards_xD.dtype)], -1)
        return (tokens_xD1 @ self.V[...].T)[..., :, None] * (tokens_xD1 @ self.M[...])[..., None, :]

    def __call__(self, rewards_xTxD: jax.Array) -> jax.Array:
        """Logits (..., T, A) of all rounds; round t sees only rewards of rounds < t."""
        check_rewards(rewards_xTxD, self.input_dim)
        terms_xTxAx2 = self.contributions(rewards_xTxD)
        if self.prefix_sum == "matmul":
            shape = terms_xTxAx2.shape
            flat_xTxA2 = terms_xTxAx2.reshape(shape[:-2] + (shape[-2] * shape[-1],))
            past_xTxAx2 = exclusive_prefix_sum_matmul(flat_xTxA2).reshape(shape)
        else:
            cumsum = jnp.cumsum(terms_xTxAx2[..., :-1, :, :], axis=-3)
            # Exclusive prefix sum: round 0 sees nothing, round t sees rounds i < t.
            past_xTxAx2 = jnp.concatenate([jnp.zeros_like(terms_xTxAx2[..., :1, :, :]), cumsum], axis=-3)
        q_Tx2 = round_features(jnp.arange(rewards_xTxD.shape[-2]))
        return jnp.einsum("...tak,tk->...ta", past_xTxAx2, q_Tx2) + self.b[...]

    def init_state(self, batch_shape: tuple[int, ...] = (), horizon: int | None = None) -> TimeState:
        """State before round 0 (any horizon)."""
        sums = jnp.zeros(tuple(batch_shape) + (self.num_actions, NUM_ROUND_FEATURES), self.V.dtype)
        return TimeState(sums, jnp.zeros((), jnp.int32))

    def readout(self, state: TimeState) -> jax.Array:
        """Logits (..., A) of the round the state waits for."""
        return jnp.einsum("...ak,k->...a", state.sums, round_features(state.t)) + self.b[...]

    def step(self, state: TimeState, reward_xD: jax.Array) -> tuple[jax.Array, TimeState]:
        """Absorb round t's reward; (logits of round t+1, new state). O(1) per round."""
        if jnp.shape(reward_xD)[-1:] != (self.input_dim,):
            raise ValueError(f"reward must have shape (..., {self.input_dim}), got {jnp.shape(reward_xD)}.")
        new_state = TimeState(state.sums + self.contributions(reward_xD), state.t + 1)
        return self.readout(new_state), new_state


def anytime_hedge_params(c: float, num_actions: int) -> tuple[nnx.GraphDef, nnx.State]:
    """(graphdef, params) computing anytime Hedge: logits_t = c / sqrt(t + 1) * sum_{i<t} r_i."""
    check_positive("c", c, allow_zero=True)
    model = TimeLinearAttention(num_actions, rngs=nnx.Rngs(0))
    model.V[...] = c * jnp.eye(num_actions, num_actions + 1)
    model.M[...] = jnp.zeros((num_actions + 1, NUM_ROUND_FEATURES)).at[-1, 1].set(1.0)
    model.b[...] = jnp.zeros((num_actions,))
    return nnx.split(model)


__all__ = ["TimeLinearAttention", "TimeState", "anytime_hedge_params", "round_features"]
