"""Policy models: reward history (..., T, D) -> logits (..., T, A), causal in the rounds.

Both models are Flax NNX modules used functionally at the boundary:

    model = make_model("transformer", num_actions=5, seed=0)
    graphdef, params = nnx.split(model)
    logits_BxTxA = apply(graphdef, params, rewards_BxTxA)   # jit / vmap / grad w.r.t. params

Recurrent form (bandit rollouts): `state = init_state(graphdef, params, batch_shape, horizon)`,
`logits_0 = readout(graphdef, params, state)`, then `logits_next, state = step(graphdef, params,
state, reward_t)` once per round; O(1) per step for linear attention, O(T) for the transformer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flax.nnx as nnx
import jax

from rmft_jax._checks import check_choice
from rmft_jax.models.linear_attention import LinearAttention, hedge_params
from rmft_jax.models.shared_attention import SharedLinearAttention
from rmft_jax.models.time_attention import TimeLinearAttention, anytime_hedge_params
from rmft_jax.models.transformer import KVCache, Transformer

MODELS = {
    "linear_attention": LinearAttention,
    "shared_linear_attention": SharedLinearAttention,
    "time_linear_attention": TimeLinearAttention,
    "transformer": Transformer,
}

__all__ = [
    "MODELS",
    "KVCache",
    "LinearAttention",
    "SharedLinearAttention",
    "TimeLinearAttention",
    "Transformer",
    "anytime_hedge_params",
    "apply",
    "hedge_params",
    "init_state",
    "make_model",
    "readout",
    "step",
]


def make_model(
    name: str, num_actions: int, *, seed: int = 0, rngs: nnx.Rngs | None = None, **kwargs: Any
) -> LinearAttention | Transformer:
    """Build model `name` (a key of MODELS) for `num_actions` actions.

    Parameters come from `rngs` if given, else from `nnx.Rngs(seed)`; `kwargs` go to the class
    (LinearAttention: input_dim, key_dim, init_scale, learned_query; SharedLinearAttention:
    init_scale, its parameters independent of A; TimeLinearAttention: input_dim, init_scale; Transformer: input_dim,
    num_layers, num_heads, d_model, mlp_ratio, norm, positions, max_horizon).
    """
    check_choice("model name", name, MODELS)
    return MODELS[name](num_actions, rngs=nnx.Rngs(seed) if rngs is None else rngs, **kwargs)


def apply(graphdef: nnx.GraphDef, params: nnx.State, rewards_xTxD: jax.Array) -> jax.Array:
    """Pure forward pass: logits (..., T, A) of every round from the reward history (..., T, D)."""
    return nnx.merge(graphdef, params)(rewards_xTxD)


def apply_moments(graphdef: nnx.GraphDef, params: nnx.State, moments_xTxD1xD1: jax.Array) -> jax.Array:
    """Logits (..., T, A) of a single linear-attention layer from its prefix second moments
    (`linear_attention.prefix_second_moments`)."""
    return nnx.merge(graphdef, params).logits_from_moments(moments_xTxD1xD1)


def apply_statistic(graphdef: nnx.GraphDef, params: nnx.State, stats_xTxS: jax.Array, projection: Callable):
    """Logits (..., T, A) of a single linear-attention layer from a statistic its S_t w is linear in
    (`LinearAttention.logits_from_statistic`)."""
    return nnx.merge(graphdef, params).logits_from_statistic(stats_xTxS, projection)


def init_state(
    graphdef: nnx.GraphDef, params: nnx.State, batch_shape: tuple[int, ...] = (), horizon: int | None = None
) -> Any:
    """Recurrent state before round 0 (the transformer needs the horizon T to size its cache)."""
    return nnx.merge(graphdef, params).init_state(batch_shape, horizon)


def readout(graphdef: nnx.GraphDef, params: nnx.State, state: Any) -> jax.Array:
    """Logits (..., A) of the round the state is waiting for (round 0 right after `init_state`)."""
    return nnx.merge(graphdef, params).readout(state)


def step(graphdef: nnx.GraphDef, params: nnx.State, state: Any, reward_xD: jax.Array) -> tuple[jax.Array, Any]:
    """Absorb round t's reward (..., D): (logits (..., A) of round t+1, new state)."""
    return nnx.merge(graphdef, params).step(state, reward_xD)
