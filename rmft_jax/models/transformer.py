"""Multi-layer causal softmax transformer policy over reward histories.

The token sequence is [start, r_0, r_1, ..., r_{T-2}]: position t holds the reward of round t-1, so
with a causal mask the output at position t (round t's logits) sees only rewards of rounds < t and
round 0 sees only the learned start token.

Positions: "none" (default) adds no positional signal; causal attention can still tell rounds apart
(e.g. through the start token's share of the attention), and a model trained at horizon T runs
unchanged at any other horizon. "sinusoidal" adds fixed sin/cos features, defined at every position
(but untrained beyond the training horizon). "learned" adds a trained table of `max_horizon` rows;
horizons T <= max_horizon use its first T rows, T > max_horizon raises ValueError (no rows exist).
"""

from __future__ import annotations

from typing import NamedTuple

import flax.nnx as nnx
import jax
import jax.numpy as jnp
import numpy as np

from rmft_jax._checks import check_choice
from rmft_jax.models.linear_attention import _check_num_actions, check_rewards

NORMS = ("layernorm", "rmsnorm", "none")
POSITIONS = ("none", "sinusoidal", "learned")


class KVCache(NamedTuple):
    """Recurrent state of the transformer: per-layer keys/values of the tokens seen so far."""

    keys: jax.Array  # (num_layers, *batch, T, num_heads, head_dim)
    values: jax.Array  # (num_layers, *batch, T, num_heads, head_dim)
    position: jax.Array  # int32 scalar: position of the last token written
    logits: jax.Array  # (*batch, A): logits of the round after the last token


def _check_positive_int(name: str, value: int) -> None:
    """Raise ValueError unless `value` is an integer >= 1."""
    if int(value) != value or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")


def _make_norm(kind: str, d_model: int, rngs: nnx.Rngs) -> nnx.Module | None:
    """Normalization layer of the given kind, or None for "none"."""
    if kind == "layernorm":
        return nnx.LayerNorm(d_model, epsilon=1e-5, rngs=rngs)
    if kind == "rmsnorm":
        return nnx.RMSNorm(d_model, epsilon=1e-5, rngs=rngs)
    return None


def _apply_norm(norm: nnx.Module | None, x: jax.Array) -> jax.Array:
    """Apply `norm`, or pass `x` through when there is none."""
    return x if norm is None else norm(x)


def sinusoidal_positions(positions_P: jax.Array, d_model: int) -> jax.Array:
    """Fixed sin/cos features (P, d_model) of integer positions, as in Vaswani et al."""
    freqs_F = jnp.exp(-jnp.log(10_000.0) * jnp.arange(0, d_model, 2, dtype=jnp.float32) / d_model)
    angles_PxF = jnp.asarray(positions_P, jnp.float32)[:, None] * freqs_F
    table_PxFx2 = jnp.stack([jnp.sin(angles_PxF), jnp.cos(angles_PxF)], axis=-1)
    return table_PxFx2.reshape(angles_PxF.shape[0], -1)[:, :d_model]


def causal_attention(q_BxTxHxK: jax.Array, k_BxSxHxK: jax.Array, v_BxSxHxK: jax.Array, offset=0) -> jax.Array:
    """Masked softmax attention; query i (at absolute position offset + i) sees keys at positions <= it."""
    num_q, num_k = q_BxTxHxK.shape[1], k_BxSxHxK.shape[1]
    scores_BxHxTxS = jnp.einsum("bthk,bshk->bhts", q_BxTxHxK, k_BxSxHxK) / jnp.sqrt(q_BxTxHxK.shape[-1])
    mask_TxS = (offset + jnp.arange(num_q))[:, None] >= jnp.arange(num_k)[None, :]
    scores_BxHxTxS = jnp.where(mask_TxS, scores_BxHxTxS, jnp.finfo(scores_BxHxTxS.dtype).min)
    probs_BxHxTxS = jax.nn.softmax(scores_BxHxTxS, axis=-1)
    return jnp.einsum("bhts,bshk->bthk", probs_BxHxTxS, v_BxSxHxK)


class Block(nnx.Module):
    """Pre-norm transformer block: x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, d_model: int, num_heads: int, mlp_ratio: int, norm: str, *, rngs: nnx.Rngs):
        """Build attention (fused QKV projection), a GELU MLP and two norms."""
        self.num_heads = num_heads
        self.norm_attn = _make_norm(norm, d_model, rngs)
        self.qkv = nnx.Linear(d_model, 3 * d_model, rngs=rngs)
        self.proj = nnx.Linear(d_model, d_model, rngs=rngs)
        self.norm_mlp = _make_norm(norm, d_model, rngs)
        self.fc_in = nnx.Linear(d_model, mlp_ratio * d_model, rngs=rngs)
        self.fc_out = nnx.Linear(mlp_ratio * d_model, d_model, rngs=rngs)

    def qkv_heads(self, x_BxTxD: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """Queries, keys, values (B, T, H, D/H) of the normalized input."""
        h_BxTxD = _apply_norm(self.norm_attn, x_BxTxD)
        qkv_BxTx3xHxK = self.qkv(h_BxTxD).reshape(*x_BxTxD.shape[:2], 3, self.num_heads, -1)
        return qkv_BxTx3xHxK[:, :, 0], qkv_BxTx3xHxK[:, :, 1], qkv_BxTx3xHxK[:, :, 2]

    def finish(self, x_BxTxD: jax.Array, attn_BxTxHxK: jax.Array) -> jax.Array:
        """Residual add of the attention output, then the MLP sublayer."""
        x_BxTxD = x_BxTxD + self.proj(attn_BxTxHxK.reshape(x_BxTxD.shape))
        h_BxTxD = _apply_norm(self.norm_mlp, x_BxTxD)
        return x_BxTxD + self.fc_out(jax.nn.gelu(self.fc_in(h_BxTxD)))

    def __call__(self, x_BxTxD: jax.Array) -> jax.Array:
        """Causal block over a whole sequence."""
        q, k, v = self.qkv_heads(x_BxTxD)
        return self.finish(x_BxTxD, causal_attention(q, k, v))


class Transformer(nnx.Module):
    """Causal transformer: linear reward embedding, start token, pre-norm blocks, linear policy head."""

    def __init__(
        self,
        num_actions: int,
        *,
        input_dim: int | None = None,
        num_layers: int = 2,
        num_heads: int = 2,
        d_model: int = 32,
        mlp_ratio: int = 4,
        norm: str = "layernorm",
        positions: str = "none",
        max_horizon: int = 1024,
        rngs: nnx.Rngs,
    ):
        """Validate the shape settings and build the layers; input_dim defaults to num_actions."""
        _check_num_actions(num_actions)
        input_dim = num_actions if input_dim is None else input_dim
        for name, value in (
            ("input_dim", input_dim),
            ("num_layers", num_layers),
            ("num_heads", num_heads),
            ("d_model", d_model),
            ("mlp_ratio", mlp_ratio),
            ("max_horizon", max_horizon),
        ):
            _check_positive_int(name, value)
        if d_model % num_heads:
            raise ValueError(
                f"d_model={d_model} is not divisible by num_heads={num_heads}; "
                f"pick d_model a multiple of num_heads (e.g. {num_heads * max(1, round(d_model / num_heads))})."
            )
        check_choice("norm", norm, NORMS)
        check_choice("positions", positions, POSITIONS)
        self.num_actions, self.input_dim, self.d_model = num_actions, input_dim, d_model
        self.positions, self.max_horizon = positions, max_horizon
        self.embed = nnx.Linear(input_dim, d_model, rngs=rngs)
        self.start = nnx.Param(jax.random.normal(rngs.params(), (d_model,)) * 0.02)
        if positions == "learned":
            self.pos_table = nnx.Param(jax.random.normal(rngs.params(), (max_horizon, d_model)) * 0.02)
        self.blocks = nnx.List([Block(d_model, num_heads, mlp_ratio, norm, rngs=rngs) for _ in range(num_layers)])
        self.norm_out = _make_norm(norm, d_model, rngs)
        self.head = nnx.Linear(d_model, num_actions, rngs=rngs)

    def check_horizon(self, horizon: int) -> None:
        """Raise ValueError if the learned position table has fewer than `horizon` rows."""
        if self.positions == "learned" and horizon > self.max_horizon:
            raise ValueError(
                f"horizon {horizon} exceeds max_horizon={self.max_horizon} of the learned position table; "
                "build the model with a larger max_horizon or use positions='none' or 'sinusoidal'."
            )

    def position_features(self, positions_P: jax.Array) -> jax.Array | None:
        """Positional features (P, d_model) of token positions (may be traced), or None."""
        if self.positions == "none":
            return None
        if self.positions == "sinusoidal":
            return sinusoidal_positions(positions_P, self.d_model)
        return self.pos_table[...][positions_P]

    def _add_positions(self, x_BxTxD: jax.Array, positions_T: jax.Array) -> jax.Array:
        """Add positional features, if any, to tokens at the given positions."""
        pos_TxD = self.position_features(positions_T)
        return x_BxTxD if pos_TxD is None else x_BxTxD + pos_TxD

    def _logits(self, x_BxTxD: jax.Array) -> jax.Array:
        """Policy head on the final (normalized) residual stream."""
        return self.head(_apply_norm(self.norm_out, x_BxTxD))

    def __call__(self, rewards_xTxD: jax.Array) -> jax.Array:
        """Logits (..., T, A) of all rounds; round t sees only rewards of rounds < t."""
        check_rewards(rewards_xTxD, self.input_dim)
        rewards_xTxD = jnp.asarray(rewards_xTxD, self.start.dtype)
        lead, (horizon, dim) = rewards_xTxD.shape[:-2], rewards_xTxD.shape[-2:]
        self.check_horizon(horizon)
        rewards_BxTxD = rewards_xTxD.reshape(-1, horizon, dim)
        # Tokens [start, r_0, ..., r_{T-2}]: the last round's reward is never an input.
        start_Bx1xD = jnp.broadcast_to(self.start[...], (rewards_BxTxD.shape[0], 1, self.d_model))
        x_BxTxD = jnp.concatenate([start_Bx1xD, self.embed(rewards_BxTxD[:, :-1])], axis=1)
        x_BxTxD = self._add_positions(x_BxTxD, jnp.arange(horizon))
        for block in self.blocks:
            x_BxTxD = block(x_BxTxD)
        return self._logits(x_BxTxD).reshape(*lead, horizon, self.num_actions)

    # Recurrent form with a key/value cache: one token per call, O(T) attention per step.

    def _decode(self, x_BxD: jax.Array, cache: KVCache, position: jax.Array) -> KVCache:
        """Run one token at `position` through all blocks, writing its keys/values into the cache."""
        batch_shape = cache.logits.shape[:-1]
        num_layers = cache.keys.shape[0]
        keys_LxBxSxHxK = cache.keys.reshape(num_layers, -1, *cache.keys.shape[-3:])
        values_LxBxSxHxK = cache.values.reshape(keys_LxBxSxHxK.shape)
        x_Bx1xD = self._add_positions(x_BxD.reshape(-1, 1, self.d_model), position[None])
        new_keys, new_values = [], []
        for block, keys_BxSxHxK, values_BxSxHxK in zip(self.blocks, keys_LxBxSxHxK, values_LxBxSxHxK, strict=True):
            q, k, v = block.qkv_heads(x_Bx1xD)
            keys_BxSxHxK = jax.lax.dynamic_update_slice_in_dim(keys_BxSxHxK, k, position, axis=1)
            values_BxSxHxK = jax.lax.dynamic_update_slice_in_dim(values_BxSxHxK, v, position, axis=1)
            x_Bx1xD = block.finish(x_Bx1xD, causal_attention(q, keys_BxSxHxK, values_BxSxHxK, offset=position))
            new_keys.append(keys_BxSxHxK)
            new_values.append(values_BxSxHxK)
        return KVCache(
            keys=jnp.stack(new_keys).reshape(cache.keys.shape),
            values=jnp.stack(new_values).reshape(cache.values.shape),
            position=position,
            logits=self._logits(x_Bx1xD).reshape(*batch_shape, self.num_actions),
        )

    def init_state(self, batch_shape: tuple[int, ...] = (), horizon: int | None = None) -> KVCache:
        """Cache for a `horizon`-round rollout with the start token already run (logits of round 0)."""
        if horizon is None:
            raise ValueError("the transformer's init_state needs the rollout horizon T to size its key/value cache.")
        _check_positive_int("horizon", horizon)
        self.check_horizon(horizon)
        block = self.blocks[0]
        head_dim = self.d_model // block.num_heads
        shape = (len(self.blocks), *batch_shape, horizon, block.num_heads, head_dim)
        dtype = self.start.dtype
        empty = KVCache(
            jnp.zeros(shape, dtype),
            jnp.zeros(shape, dtype),
            jnp.zeros((), jnp.int32),
            jnp.zeros((*batch_shape, self.num_actions), dtype),
        )
        start_BxD = jnp.broadcast_to(self.start[...], (int(np.prod(batch_shape)), self.d_model))
        return self._decode(start_BxD, empty, jnp.zeros((), jnp.int32))

    def readout(self, state: KVCache) -> jax.Array:
        """Logits (..., A) of the next round, held in the state."""
        return state.logits

    def step(self, state: KVCache, reward_xD: jax.Array) -> tuple[jax.Array, KVCache]:
        """Absorb round t's reward; return (logits of round t+1, new state).

        Valid for t < T-1: after the last round there is no round T and the cache has no slot for it.
        """
        if jnp.shape(reward_xD) != state.logits.shape[:-1] + (self.input_dim,):
            raise ValueError(
                f"reward must have shape {state.logits.shape[:-1] + (self.input_dim,)}, got {jnp.shape(reward_xD)}."
            )
        x_BxD = self.embed(jnp.asarray(reward_xD, self.start.dtype).reshape(-1, self.input_dim))
        new_state = self._decode(x_BxD, state, state.position + 1)
        return new_state.logits, new_state
