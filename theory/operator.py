"""Single-layer linear attention as an operator from cumulative rewards to logits.

With the constant query c = (0, ..., 0, 1), the attention weight of token x_i = (r_i, 1) is
w_i = <K x_i, Q c> = x_i . u with u = K^T Q c, so with V = [V_r | v_0] (reward columns | bias column)

    logits_t = b + sum_{i<t} (V_r r_i + v_0) w_i.

Linearized at the mean weight w_bar (mean of w_i over held-out tokens), with R_t = sum_{i<t} r_i:

    logits_t = W_eff R_t + (b + t d) + N_t,
    W_eff = w_bar V_r (A x A),  d = w_bar v_0 (a per-round drift),  N_t = sum_{i<t} (V x_i)(w_i - w_bar).

The three terms are the linear part, the bias part and the non-linear part; the identity is exact.
Softmax ignores a constant added to every logit, so only the centered logits C logits_t matter,
C = I - 11^T / A. Hedge(eta) has W_eff = eta I, d = b = 0, N = 0, and C (eta I) = eta C: a model
is Hedge-shaped when C W_eff is close to eta C and the bias and non-linear parts are small.
Everything here is on the scale the policy sees: logits / temperature.
"""

from __future__ import annotations

from typing import NamedTuple

import flax.nnx as nnx
import jax
import jax.numpy as jnp

from rmft_jax.baselines.full_info import cumulative_before


class Operator(NamedTuple):
    """The linearized single-layer model (see the module docstring); arrays on the logit / temperature scale."""

    W_AxA: jax.Array  # w_bar V_r, not centered
    drift_A: jax.Array  # w_bar v_0: added once per past round
    bias_A: jax.Array  # b
    mean_weight: jax.Array  # w_bar
    weight_cv: jax.Array  # std(w_i) / |w_bar| over the same tokens: how non-linear the model is


def centering_matrix(num_actions: int) -> jax.Array:
    """C = I - 11^T / A: removes the component that shifts every logit equally."""
    return jnp.eye(num_actions) - jnp.full((num_actions, num_actions), 1.0 / num_actions)


def center_logits(x_xA: jax.Array) -> jax.Array:
    """C x for logit vectors (..., A): subtract the mean over actions."""
    return x_xA - jnp.mean(x_xA, axis=-1, keepdims=True)


def center_operator(W_AxB: jax.Array) -> jax.Array:
    """C W: subtract each column's mean (the rows are the actions whose logits W produces)."""
    return W_AxB - jnp.mean(W_AxB, axis=-2, keepdims=True)


def _weights(graphdef: nnx.GraphDef, params: nnx.State) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(V (A, D+1), u = K^T Q c (D+1,), b (A,)) of a LinearAttention model."""
    model = nnx.merge(graphdef, params)
    if model.input_dim != model.num_actions:
        raise ValueError(
            f"the operator view needs input_dim == num_actions (reward-vector tokens), "
            f"got {model.input_dim} != {model.num_actions}."
        )
    query = model.query[...] if model.learned_query else jnp.zeros(model.input_dim + 1).at[-1].set(1.0)
    return model.V[...], model.K[...].T @ (model.Q[...] @ query), model.b[...]


def token_weights(u_D1: jax.Array, rewards_xTxA: jax.Array) -> jax.Array:
    """Attention weights w_i = (r_i, 1) . u of every token: (..., T, A) -> (..., T)."""
    return rewards_xTxA @ u_D1[:-1] + u_D1[-1]


def effective_operator(
    graphdef: nnx.GraphDef, params: nnx.State, rewards_NxTxA: jax.Array, temperature: float = 1.0
) -> Operator:
    """Linearize the model at the mean attention weight of the tokens of `rewards_NxTxA`.

    The mean is over the tokens that enter some logit within the horizon (rounds 0..T-2).
    """
    V_AxD1, u_D1, b_A = _weights(graphdef, params)
    w_NxT = token_weights(u_D1, rewards_NxTxA)[..., :-1]
    mean_w, std_w = jnp.mean(w_NxT), jnp.std(w_NxT)
    scale = mean_w / temperature
    return Operator(
        W_AxA=scale * V_AxD1[:, :-1],
        drift_A=scale * V_AxD1[:, -1],
        bias_A=b_A / temperature,
        mean_weight=mean_w,
        weight_cv=std_w / jnp.abs(mean_w),
    )


def logit_parts(
    graphdef: nnx.GraphDef, params: nnx.State, rewards_NxTxA: jax.Array, op: Operator, temperature: float = 1.0
) -> dict[str, jax.Array]:
    """Centered logits / temperature and their linear, bias and non-linear parts, each (N, T, A).

    The non-linear part is computed from its own formula, so `linear + bias + nonlinear == total`
    checks the decomposition against the model's forward pass.
    """
    V_AxD1, u_D1, _ = _weights(graphdef, params)
    horizon = rewards_NxTxA.shape[-2]
    total = nnx.merge(graphdef, params)(rewards_NxTxA) / temperature
    linear = cumulative_before(rewards_NxTxA) @ op.W_AxA.T
    bias = jnp.broadcast_to(op.bias_A + jnp.arange(horizon, dtype=total.dtype)[:, None] * op.drift_A, total.shape)
    tokens_NxTxD1 = jnp.concatenate([rewards_NxTxA, jnp.ones_like(rewards_NxTxA[..., :1])], axis=-1)
    dev_NxT = token_weights(u_D1, rewards_NxTxA) - op.mean_weight
    terms_NxTxA = (tokens_NxTxD1 @ V_AxD1.T) * dev_NxT[..., None] / temperature
    nonlinear = cumulative_before(terms_NxTxA)
    return {
        name: center_logits(x)
        for name, x in (("total", total), ("linear", linear), ("bias", bias), ("nonlinear", nonlinear))
    }


def part_fractions(parts: dict[str, jax.Array]) -> dict[str, jax.Array]:
    """||part|| / ||total|| (Frobenius over all sequences and rounds) for the three parts."""
    norm = jnp.linalg.norm(parts["total"])
    return {f"{name}_fraction": jnp.linalg.norm(parts[name]) / norm for name in ("linear", "bias", "nonlinear")}


def projected_eta(W_AxA: jax.Array) -> jax.Array:
    """The eta minimizing ||C W - eta C||_F: <C W, C>_F / ||C||_F^2 = trace(C W) / (A - 1)."""
    return jnp.trace(center_operator(W_AxA)) / (W_AxA.shape[-1] - 1)


def structure_residual(W_AxA: jax.Array, eta: jax.Array) -> jax.Array:
    """||C W - eta C||_F / ||C W||_F: how far the centered operator is from eta times the centered identity."""
    centered = center_operator(W_AxA)
    return jnp.linalg.norm(centered - eta * centering_matrix(W_AxA.shape[-1])) / jnp.linalg.norm(centered)
