"""Adaptive FOL adversaries: each round's reward vector is chosen after seeing the learner.

An adversary maps what it sees before round t (an `AdversaryView`) to the reward vector r_t in
[0, 1]^A. Policy-adaptive adversaries read the learner's current policy pi_t; against a learner whose
policy is a deterministic function of past rewards they build one fixed table, so their regret is
exact. Action-adaptive adversaries read the sampled actions a_{<t} (never a_t itself: an adversary
that sees the round's own action beats every learner), so the table differs per sampled path and
the regret is a Monte Carlo mean over paths.

  least_likely         1 on argmin pi_t (the action the learner trusts least).
  all_but_most_likely  1 on every action except argmax pi_t.
  alternating_pair     on a pair (i, j): round 0 gives i 0.5, then the less likely of the pair gets 1
                       (ties: j); the policy-adaptive form of the sequence that gives FTL regret ~T/2.
  punish_last          1 on every action except a_{t-1} (round 0: except action 0).
  punish_frequent      1 on every action except the most played so far (round 0: except action 0).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp


class AdversaryView(NamedTuple):
    """What an adversary sees before choosing round t's rewards (B rows played in parallel)."""

    t: jax.Array  # int32 scalar, the round
    probs_BxA: jax.Array  # the learner's policy pi_t for this round
    counts_BxA: jax.Array  # how often each action was sampled in rounds < t
    last_B: jax.Array  # the action sampled in round t-1 (0 before round 1)
    pair_Bx2: jax.Array  # int32 pair (i, j) used by alternating_pair


def _one_hot(index_B: jax.Array, view: AdversaryView) -> jax.Array:
    """One-hot rows (B, A) like the view's policy."""
    return jax.nn.one_hot(index_B, view.probs_BxA.shape[-1], dtype=view.probs_BxA.dtype)


def least_likely(view: AdversaryView) -> jax.Array:
    """Reward 1 on the action the learner makes least likely."""
    return _one_hot(jnp.argmin(view.probs_BxA, axis=-1), view)


def all_but_most_likely(view: AdversaryView) -> jax.Array:
    """Reward 1 on every action except the learner's most likely one."""
    return 1.0 - _one_hot(jnp.argmax(view.probs_BxA, axis=-1), view)


def alternating_pair(view: AdversaryView) -> jax.Array:
    """On the pair (i, j): i gets 0.5 in round 0; afterwards the less likely of the two gets 1 (ties: j)."""
    first_B, second_B = view.pair_Bx2[:, 0], view.pair_Bx2[:, 1]
    p_first = jnp.take_along_axis(view.probs_BxA, first_B[:, None], axis=-1)[:, 0]
    p_second = jnp.take_along_axis(view.probs_BxA, second_B[:, None], axis=-1)[:, 0]
    winner_B = jnp.where(p_first < p_second, first_B, second_B)
    later_BxA = _one_hot(winner_B, view)
    return jnp.where(view.t == 0, 0.5 * _one_hot(first_B, view), later_BxA)


def punish_last(view: AdversaryView) -> jax.Array:
    """Reward 1 on every action except the one sampled last round."""
    return 1.0 - _one_hot(view.last_B, view)


def punish_frequent(view: AdversaryView) -> jax.Array:
    """Reward 1 on every action except the one sampled most often so far (lowest index on ties)."""
    return 1.0 - _one_hot(jnp.argmax(view.counts_BxA, axis=-1), view)


POLICY_ADAPTIVE: dict[str, Callable[[AdversaryView], jax.Array]] = {
    "least_likely": least_likely,
    "all_but_most_likely": all_but_most_likely,
    "alternating_pair": alternating_pair,
}
ACTION_ADAPTIVE: dict[str, Callable[[AdversaryView], jax.Array]] = {
    "punish_last": punish_last,
    "punish_frequent": punish_frequent,
}
ADVERSARIES = {**POLICY_ADAPTIVE, **ACTION_ADAPTIVE}


def by_row(kind_B: jax.Array, kinds: tuple[str, ...]) -> Callable[[AdversaryView], jax.Array]:
    """One adversary per row: row b plays ADVERSARIES[kinds[kind_B[b]]] (all are computed, one is kept)."""
    adversaries = [ADVERSARIES[name] for name in kinds]

    def adversary(view: AdversaryView) -> jax.Array:
        all_KxBxA = jnp.stack([adv(view) for adv in adversaries])
        return jnp.take_along_axis(all_KxBxA, kind_B[None, :, None], axis=0)[0]

    return adversary


def all_pairs(num_actions: int) -> jax.Array:
    """Every ordered pair (i, j), i != j, of actions: (A (A - 1), 2) int32."""
    pairs = [(i, j) for i in range(num_actions) for j in range(num_actions) if i != j]
    return jnp.asarray(pairs, jnp.int32)


def play(
    policy_fn: Callable[[jax.Array], jax.Array],
    adversary: Callable[[AdversaryView], jax.Array],
    horizon: int,
    num_actions: int,
    pair_Bx2: jax.Array,
    key: jax.Array,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Play B rows of an adversary against a one-pass policy: tables (B, T, A), policies (B, T, A), actions (B, T).

    The policy function has no recurrent form here, so round t reruns it on the table so far
    (rows >= t are still zero and, by causality, do not affect round t): O(T) passes, fine for
    evaluation. Training uses the models' recurrent form instead (`rmft_jax.tasks.fol.sequential`).
    """
    batch = pair_Bx2.shape[0]
    keys_T = jax.random.split(key, horizon)

    def round_fn(t, carry):
        table_BxTxA, probs_BxTxA, actions_BxT, counts_BxA, last_B = carry
        probs_BxA = policy_fn(table_BxTxA)[:, t]
        view = AdversaryView(t, probs_BxA, counts_BxA, last_B, pair_Bx2)
        rewards_BxA = adversary(view).astype(table_BxTxA.dtype)
        actions_B = jax.random.categorical(keys_T[t], jnp.log(jnp.maximum(probs_BxA, 1e-30)), axis=-1)
        counts_BxA = counts_BxA + jax.nn.one_hot(actions_B, num_actions, dtype=counts_BxA.dtype)
        return (
            table_BxTxA.at[:, t].set(rewards_BxA),
            probs_BxTxA.at[:, t].set(probs_BxA),
            actions_BxT.at[:, t].set(actions_B),
            counts_BxA,
            actions_B,
        )

    zeros = jnp.zeros((batch, horizon, num_actions), jnp.float32)
    no_actions = jnp.zeros((batch, horizon), jnp.int32)
    init = (zeros, zeros, no_actions, jnp.zeros((batch, num_actions), jnp.float32), jnp.zeros((batch,), jnp.int32))
    table_BxTxA, probs_BxTxA, actions_BxT, _, _ = jax.lax.fori_loop(0, horizon, round_fn, init)
    return table_BxTxA, probs_BxTxA, actions_BxT


def expected_regret(table_BxTxA: jax.Array, probs_BxTxA: jax.Array) -> jax.Array:
    """max_a sum_t r_t(a) - sum_t <pi_t, r_t> per row (B,): the expected regret given the table."""
    best_B = jnp.max(jnp.sum(table_BxTxA, axis=1), axis=-1)
    return best_B - jnp.sum(probs_BxTxA * table_BxTxA, axis=(1, 2))
