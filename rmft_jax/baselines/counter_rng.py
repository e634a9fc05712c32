"""Counter-based random words for the bandit baselines, in plain jnp ops so that XLA fuses them.

Threefry-2x32 spelled out (bit-identical to jax's primitive, which lowers on CPU to a rolled loop of
small kernels that cost more than the rest of a UCB1 step), a murmur3 hash stream for tie-breaking,
uint32 -> uniform floats, and an argmax over arms with uniformly random tie-breaking.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

Array = Any
U32 = jnp.uint32
GOLDEN = 0x9E3779B9  # 2^32 / golden ratio: spreads arm indices over the 32-bit range
MAX_UNROLLED_ARMS = 64  # random_argmax unrolls over arms up to here (compile time grows with A)


def threefry2x32(key_2: Array, x1: Array, x2: Array) -> tuple[Array, Array]:
    """Threefry-2x32 (20 rounds) of counters (x1, x2) in plain jnp ops; bit-identical to jax's primitive."""
    ks = (key_2[0], key_2[1], key_2[0] ^ key_2[1] ^ U32(0x1BD11BDA))
    x1, x2 = x1 + ks[0], x2 + ks[1]
    for i in range(5):
        for rot in ((13, 15, 26, 6), (17, 29, 16, 24))[i % 2]:
            x1 = x1 + x2
            x2 = x1 ^ ((x2 << U32(rot)) | (x2 >> U32(32 - rot)))
        x1, x2 = x1 + ks[(i + 1) % 3], x2 + ks[(i + 2) % 3] + U32(i + 1)
    return x1, x2


def threefry_words(key_2: Array, t: Array, num_runs: int, num_words: int, first_block: int = 0) -> list:
    """num_words uint32 words per run for round t, each (N,): Threefry of counters (t, block * N + run)."""
    words = []
    for block in range(first_block, first_block + -(-num_words // 2)):
        counter_N = jnp.arange(block * num_runs, (block + 1) * num_runs, dtype=U32)
        words.extend(threefry2x32(key_2, jnp.full_like(counter_N, t), counter_N))
    return words[:num_words]


def mix32(x: Array) -> Array:
    """murmur3's 32-bit finalizer: a bijection of uint32 with full avalanche."""
    x = (x ^ (x >> U32(16))) * U32(0x85EBCA6B)
    x = (x ^ (x >> U32(13))) * U32(0xC2B2AE35)
    return x ^ (x >> U32(16))


def tie_words(seeds_N: Array, t: Array) -> Array:
    """Round t's tie-breaking word per run -> (N,): mix32(seed ^ mix32(t + 1)), seeds drawn once by Threefry.

    A hash stream rather than Threefry: a few integer ops per run. Ample for breaking ties, and
    independent of the Threefry words that draw rewards.
    """
    return mix32(seeds_N ^ mix32(t.astype(U32) + U32(1)))


def uniform(bits: Array) -> Array:
    """uint32 words -> float32 uniforms on [0, 1) from their top 23 bits (as jax.random.uniform)."""
    return jax.lax.bitcast_convert_type((bits >> U32(9)) | U32(0x3F800000), jnp.float32) - 1.0


def random_argmax(bits_N: Array, scores_AxN: Array) -> Array:
    """Argmax over arms (axis 0), ties broken uniformly at random -> (N,) int32.

    One random word per run gives arm a the priority mix32(bits ^ a * golden): a bijective hash of a
    uniform word, so every priority is uniform, and the avalanche makes the arms' priorities behave
    as independent draws (tests check 1/k frequencies among k tied arms).
    The arm with the largest (score, priority) wins, so each tied maximum is equally likely (exact
    priority collisions, probability ~2^-32, go to the lower index). A few integer ops per arm instead
    of A uniforms per run. Up to MAX_UNROLLED_ARMS arms it is one elementwise pass over the A rows
    (XLA vectorizes it over runs); beyond, two reductions with the same result.
    """
    num_actions = scores_AxN.shape[0]
    arms_Ax1 = (jnp.arange(num_actions, dtype=U32) * U32(GOLDEN))[:, None]
    priority_AxN = mix32(bits_N ^ arms_Ax1) | U32(1)  # >= 1: beats the masked-out 0 below
    if num_actions > MAX_UNROLLED_ARMS:
        is_max_AxN = scores_AxN >= jnp.max(scores_AxN, axis=0)
        return jnp.argmax(jnp.where(is_max_AxN, priority_AxN, U32(0)), axis=0).astype(jnp.int32)
    best_score_N, best_priority_N = scores_AxN[0], priority_AxN[0]
    best_N = jnp.zeros(bits_N.shape, jnp.int32)
    for a in range(1, num_actions):
        score_N, priority_N = scores_AxN[a], priority_AxN[a]
        take_N = (score_N > best_score_N) | ((score_N == best_score_N) & (priority_N > best_priority_N))
        best_score_N = jnp.where(take_N, score_N, best_score_N)
        best_priority_N = jnp.where(take_N, priority_N, best_priority_N)
        best_N = jnp.where(take_N, a, best_N)
    return best_N
