"""Single-layer linear self-attention policy: the theory model of Park et al. (arXiv 2403.16843).

Round t's logits are a sum over the past tokens x_i = (r_i, 1), i < t, queried by a constant token c:

    logits_t = b + sum_{i<t} (V x_i) * <K x_i, Q c>.

Because the query never changes, the sum is an exclusive prefix sum over rounds: the full pass is
O(T) and a recurrent step is O(1) with the running sum as its state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flax.nnx as nnx
import jax
import jax.numpy as jnp

from rmft_jax._checks import check_positive


def _check_num_actions(num_actions: int) -> None:
    """Raise ValueError unless there are at least two actions to choose between."""
    if int(num_actions) != num_actions or num_actions < 2:
        raise ValueError(f"num_actions must be an integer >= 2, got {num_actions!r}; a policy needs two actions.")


def check_rewards(rewards: Any, input_dim: int) -> None:
    """Raise ValueError unless `rewards` has shape (..., T, input_dim) with T >= 1."""
    shape = jnp.shape(rewards)
    if len(shape) < 2 or shape[-1] != input_dim or shape[-2] < 1:
        raise ValueError(
            f"rewards must have shape (..., T, {input_dim}) with T >= 1, got {shape}; "
            f"the last axis must match the model's input_dim={input_dim}."
        )


PREFIX_SUMS = ("cumsum", "matmul")


def exclusive_prefix_sum_matmul(terms_xTxA: jax.Array) -> jax.Array:
    """sum_{i<t} terms_i for every t, as one matmul with a strictly lower-triangular (T, T) matrix."""
    horizon = terms_xTxA.shape[-2]
    strict_TxT = jnp.tril(jnp.ones((horizon, horizon), terms_xTxA.dtype), k=-1)
    return jnp.einsum("ts,...sa->...ta", strict_TxT, terms_xTxA)


def exclusive_cumsum(terms: jax.Array, axis: int) -> jax.Array:
    """sum_{i<t} terms_i along `axis` (a negative axis, the rounds): a cumulative sum shifted by one round, so round 0
    sees nothing and round t sees rounds i < t."""
    cumsum = jnp.cumsum(terms, axis=axis)
    pad = [(0, 0)] * cumsum.ndim
    pad[axis] = (1, 0)
    return jnp.pad(jax.lax.slice_in_dim(cumsum, 0, cumsum.shape[axis] - 1, axis=axis), pad)


def prefix_second_moments(rewards_xTxD: jax.Array) -> jax.Array:
    """S_t = sum_{i<t} x_i x_i^T of the tokens x_i = (r_i, 1): (..., T, D+1, D+1), the single layer's sufficient
    statistic (logits_t = b + V S_t K^T Q c). SFT computes it once per update, since its inputs do not change."""
    rewards_xTxD = jnp.asarray(rewards_xTxD, jnp.float32)
    tokens_xTxD1 = jnp.concatenate([rewards_xTxD, jnp.ones(rewards_xTxD.shape[:-1] + (1,), jnp.float32)], axis=-1)
    outer_xTxD1xD1 = tokens_xTxD1[..., :, None] * tokens_xTxD1[..., None, :]
    return exclusive_cumsum(outer_xTxD1xD1, axis=-3)


def dense_moments_projection(w_D1: jax.Array) -> jax.Array:
    """(D1^2, D1): the flattened S_t (entry i D1 + j is S_ij) times it is S_t w; entry (i D1 + j, k) is [i = k] w_j."""
    return jnp.kron(jnp.eye(w_D1.shape[0], dtype=w_D1.dtype), w_D1[:, None])


class LinearAttention(nnx.Module):
    """Linear self-attention over past reward tokens with a constant (or learned) query token."""

    def __init__(
        self,
        num_actions: int,
        *,
        input_dim: int | None = None,
        key_dim: int | None = None,
        init_scale: float = 0.1,
        learned_query: bool = False,
        prefix_sum: str = "cumsum",
        rngs: nnx.Rngs,
    ):
        """Draw V (A x D+1), K and Q (d x D+1) from N(0, init_scale^2); b = 0; D = input_dim.

        `prefix_sum` picks how the full pass sums past rounds: "cumsum" (every quoted number) or
        "matmul" (a strictly lower-triangular (T, T) matrix times the terms; faster on CPU, other
        float rounding).
        """
        _check_num_actions(num_actions)
        if prefix_sum not in PREFIX_SUMS:
            raise ValueError(f"prefix_sum must be one of {list(PREFIX_SUMS)}, got {prefix_sum!r}.")
        self.prefix_sum = prefix_sum
        check_positive("init_scale", init_scale, allow_zero=True)
        input_dim = num_actions if input_dim is None else input_dim
        key_dim = input_dim + 1 if key_dim is None else key_dim
        for name, value in (("input_dim", input_dim), ("key_dim", key_dim)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        self.num_actions, self.input_dim, self.key_dim = num_actions, input_dim, key_dim
        self.learned_query = learned_query
        normal = jax.nn.initializers.normal(stddev=init_scale)
        self.V = nnx.Param(normal(rngs.params(), (num_actions, input_dim + 1)))
        self.K = nnx.Param(normal(rngs.params(), (key_dim, input_dim + 1)))
        self.Q = nnx.Param(normal(rngs.params(), (key_dim, input_dim + 1)))
        self.b = nnx.Param(jnp.zeros((num_actions,)))
        if learned_query:
            # Starts at the constant query c = (0, ..., 0, 1).
            self.query = nnx.Param(jnp.zeros((input_dim + 1,)).at[-1].set(1.0))

    def _query(self) -> jax.Array:
        """The query token c in R^{D+1}."""
        if self.learned_query:
            return self.query[...]
        return jnp.zeros((self.input_dim + 1,), self.K.dtype).at[-1].set(1.0)

    def contributions(self, rewards: jax.Array) -> jax.Array:
        """Per-token terms (V x_i) * <K x_i, Q c> for rewards (..., D) -> (..., A)."""
        rewards = jnp.asarray(rewards, self.V.dtype)
        ones = jnp.ones(rewards.shape[:-1] + (1,), rewards.dtype)
        tokens_xD1 = jnp.concatenate([rewards, ones], axis=-1)
        # <K x, Q c> = x . (K^T Q c): fold the constant query into one vector first.
        key_query_D1 = self.K[...].T @ (self.Q[...] @ self._query())
        weights = tokens_xD1 @ key_query_D1
        return (tokens_xD1 @ self.V[...].T) * weights[..., None]

    def __call__(self, rewards_xTxD: jax.Array) -> jax.Array:
        """Logits (..., T, A) of all rounds; round t sees only rewards of rounds < t."""
        self.check_input(rewards_xTxD)
        terms_xTxA = self.contributions(rewards_xTxD)
        if self.prefix_sum == "matmul":
            return self.readout(exclusive_prefix_sum_matmul(terms_xTxA))
        return self.readout(exclusive_cumsum(terms_xTxA, axis=-2))

    def logits_from_moments(self, moments_xTxD1xD1: jax.Array) -> jax.Array:
        """Logits (..., T, A) from `prefix_second_moments` of the rewards: b + V S_t (K^T Q c); equal to the forward
        pass up to float rounding (the sums are reassociated)."""
        flat_xTxS = moments_xTxD1xD1.reshape(moments_xTxD1xD1.shape[:-2] + (-1,))
        return self.logits_from_statistic(flat_xTxS, dense_moments_projection)

    def logits_from_statistic(self, stats_xTxS: jax.Array, projection: Callable[[jax.Array], jax.Array]) -> jax.Array:
        """Logits b + V S_t w (..., T, A), w = K^T Q c, from a statistic of the inputs that S_t w is linear in:
        S_t w = stats_t @ projection(w), projection(w) of shape (S, D+1).

        The logits are then stats @ (projection(w) V^T): one (rows, S) x (S, A) product per SFT step, with no prefix
        sum over rounds (the statistic is computed once per update).
        """
        key_query_D1 = self.K[...].T @ (self.Q[...] @ self._query())
        return self.readout(stats_xTxS @ (projection(key_query_D1) @ self.V[...].T))

    def check_input(self, rewards_xTxD: jax.Array) -> None:
        """Raise ValueError unless the input is (..., T, input_dim)."""
        check_rewards(rewards_xTxD, self.input_dim)

    def init_state(self, batch_shape: tuple[int, ...] = (), horizon: int | None = None) -> jax.Array:
        """Recurrent state before round 0: the running sum, zeros (*batch_shape, A); any horizon."""
        return jnp.zeros(tuple(batch_shape) + (self.num_actions,), self.V.dtype)

    def readout(self, state_xA: jax.Array) -> jax.Array:
        """Logits (..., A) of the next round from the running sum."""
        return state_xA + self.b[...]

    def step(self, state_xA: jax.Array, reward_xD: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Absorb round t's reward; return (logits of round t+1, new state). O(1) per round."""
        if jnp.shape(reward_xD)[-1:] != (self.input_dim,):
            raise ValueError(f"reward must have shape (..., {self.input_dim}), got {jnp.shape(reward_xD)}.")
        new_state_xA = state_xA + self.contributions(reward_xD)
        return self.readout(new_state_xA), new_state_xA


def hedge_params(eta: float, num_actions: int, **kwargs: Any) -> tuple[nnx.GraphDef, nnx.State]:
    """(graphdef, params) whose logits are exactly Hedge(eta)'s: eta * cumulative past reward.

    K and Q put their only nonzero entry on the bias coordinate, so <K x_i, Q c> = 1 for every
    token; V = eta * [I | 0] then sums the past reward vectors, and b = 0.
    """
    check_positive("eta", eta, allow_zero=True)
    model = LinearAttention(num_actions, rngs=nnx.Rngs(0), **kwargs)
    if model.input_dim != num_actions:
        raise ValueError(f"Hedge needs input_dim == num_actions, got {model.input_dim} != {num_actions}.")
    eye_AxA1 = jnp.eye(num_actions, num_actions + 1)
    unit = jnp.zeros((model.key_dim, num_actions + 1)).at[0, -1].set(1.0)
    model.V[...] = eta * eye_AxA1
    model.K[...] = unit
    model.Q[...] = unit
    model.b[...] = jnp.zeros((num_actions,))
    if model.learned_query:
        model.query[...] = jnp.zeros((num_actions + 1,)).at[-1].set(1.0)
    return nnx.split(model)
