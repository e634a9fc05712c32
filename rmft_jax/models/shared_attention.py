"""The theory model restricted to action-permutation-equivariant parameters: no parameter depends on A.

LinearAttention commutes with relabelling the actions only when V = [a I + (c/A) 1 1^T | g 1],
K^T Q c = (k 1 / A, k0) and b = β 1. Under the softmax the terms that are the same for every action
(c, g, β) drop out, which leaves

    logits_t(a) = alpha * sum_{i<t} r_i(a) * (kappa * mean_b r_i(b) + kappa_0),

three scalars. The same parameters run at any action count, so a model trained at A can be
evaluated at A' (the transfer-across-action-count test); Hedge(eta) is alpha * kappa_0 = eta,
kappa = 0. Full-information rewards only (its input is the reward vector itself).
"""

from __future__ import annotations

import flax.nnx as nnx
import jax
import jax.numpy as jnp

from rmft_jax._checks import check_positive
from rmft_jax.models.linear_attention import PREFIX_SUMS, LinearAttention, _check_num_actions


class SharedLinearAttention(LinearAttention):
    """Linear attention whose value and attention weight are shared by all actions (any A at call time)."""

    def __init__(
        self,
        num_actions: int,
        *,
        input_dim: int | None = None,
        init_scale: float = 0.1,
        prefix_sum: str = "cumsum",
        rngs: nnx.Rngs,
    ):
        """Draw alpha, kappa, kappa_0 from N(0, init_scale^2); `num_actions` sizes the recurrent state only."""
        _check_num_actions(num_actions)
        if prefix_sum not in PREFIX_SUMS:
            raise ValueError(f"prefix_sum must be one of {list(PREFIX_SUMS)}, got {prefix_sum!r}.")
        self.prefix_sum = prefix_sum
        check_positive("init_scale", init_scale, allow_zero=True)
        if input_dim not in (None, num_actions):
            raise ValueError(
                f"shared_linear_attention reads full-information reward vectors (input_dim = "
                f"num_actions = {num_actions}), got input_dim={input_dim}; it has no bandit-token form."
            )
        self.num_actions = self.input_dim = num_actions
        normal = jax.nn.initializers.normal(stddev=init_scale)
        self.alpha = nnx.Param(normal(rngs.params(), ()))
        self.kappa = nnx.Param(normal(rngs.params(), (2,)))  # (kappa on the round's mean reward, kappa_0)

    def check_input(self, rewards_xTxA: jax.Array) -> None:
        """Raise ValueError unless the input is (..., T, A') with T >= 1 and any A' >= 2."""
        shape = jnp.shape(rewards_xTxA)
        if len(shape) < 2 or shape[-1] < 2 or shape[-2] < 1:
            raise ValueError(f"rewards must have shape (..., T, A) with T >= 1 and A >= 2, got {shape}.")

    def contributions(self, rewards: jax.Array) -> jax.Array:
        """Per-round terms alpha * r_i(a) * (kappa * mean(r_i) + kappa_0), (..., A) -> (..., A)."""
        rewards = jnp.asarray(rewards, self.alpha.dtype)
        weights = self.kappa[0] * jnp.mean(rewards, axis=-1) + self.kappa[1]
        return self.alpha[...] * rewards * weights[..., None]

    def init_state(self, batch_shape: tuple[int, ...] = (), horizon: int | None = None) -> jax.Array:
        """The running sum before round 0: zeros (*batch_shape, num_actions); any horizon."""
        return jnp.zeros(tuple(batch_shape) + (self.num_actions,), self.alpha.dtype)

    def readout(self, state_xA: jax.Array) -> jax.Array:
        """Logits from the running sum (a shared bias would cancel in the softmax)."""
        return state_xA
