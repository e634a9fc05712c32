"""Oblivious attacks: search reward tables in [0, 1]^{T x A} that maximize a policy's expected regret.

A policy function maps rewards (B, T, A) to policies (B, T, A) causally (round t's policy sees rows
< t). Its expected static regret on a table is max_a sum_t r_t(a) - sum_t <pi_t, r_t>; the search
parametrizes the table as sigmoid(z) (so it stays in [0, 1]), replaces the comparator's max by a
smoothed max tau * logsumexp(S / tau) for a gradient that reaches every action, and runs Adam
ascent from many random restarts at once. The answer is the *exact* regret of the best table found
(and of the same tables rounded to {0, 1}): a lower bound on the policy's worst-case regret.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from rmft_jax import _checks

PolicyFn = Callable[[jax.Array], jax.Array]  # rewards (B, T, A) -> policies (B, T, A)


@dataclasses.dataclass(frozen=True)
class GradientBudget:
    """How hard the gradient search tries: restarts run in parallel, Adam steps, step size, smoothing."""

    restarts: int = 64
    steps: int = 300
    learning_rate: float = 0.1
    init_scale: float = 2.0  # std of the initial sigmoid logits: diverse starts across [0, 1]
    temperature: float = 0.05  # tau of the smoothed comparator max

    def validate(self) -> GradientBudget:
        """Raise ValueError on a budget that cannot run; return self."""
        for name in ("restarts", "steps"):
            _checks.check_int(f"attack budget {name}", getattr(self, name), 1)
        for name in ("learning_rate", "init_scale", "temperature"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"attack budget {name} must be positive, got {value!r}.")
        return self


def table_regret(policy_fn: PolicyFn, rewards_BxTxA: jax.Array) -> jax.Array:
    """Exact expected static regret at T of the policy on each table (B,)."""
    policies_BxTxA = policy_fn(rewards_BxTxA)
    best_B = jnp.max(jnp.sum(rewards_BxTxA, axis=1), axis=-1)
    return best_B - jnp.sum(policies_BxTxA * rewards_BxTxA, axis=(1, 2))


def smoothed_regret(policy_fn: PolicyFn, rewards_BxTxA: jax.Array, temperature: float) -> jax.Array:
    """Differentiable surrogate (B,): the comparator's max replaced by tau * logsumexp(S / tau)."""
    policies_BxTxA = policy_fn(rewards_BxTxA)
    totals_BxA = jnp.sum(rewards_BxTxA, axis=1)
    best_B = temperature * jax.nn.logsumexp(totals_BxA / temperature, axis=-1)
    return best_B - jnp.sum(policies_BxTxA * rewards_BxTxA, axis=(1, 2))


def ascend(
    policy_fn: PolicyFn, logits_BxTxA: jax.Array, steps: int, learning_rate: float, temperature: float
) -> tuple[jax.Array, jax.Array]:
    """Adam ascent of the smoothed regret on sigmoid logits; (best tables (B, T, A), their exact regret (B,)).

    Each restart keeps the table of highest *exact* regret met along its path (the start included):
    the surrogate's gradient can lead away from a good table for policies that are not smooth (FTL).
    """
    optimizer = optax.adam(learning_rate)

    # Each table's surrogate depends on its own logits only, so the gradient of the sum is per table.
    def loss_fn(z):
        return -jnp.sum(smoothed_regret(policy_fn, jax.nn.sigmoid(z), temperature))

    def keep_best(best, z):
        best_table, best_regret = best
        table = jax.nn.sigmoid(z)
        regret_B = table_regret(policy_fn, table)
        better_B = regret_B > best_regret
        return jnp.where(better_B[:, None, None], table, best_table), jnp.where(better_B, regret_B, best_regret)

    def step(carry, _):
        z, state, best = carry
        grads = jax.grad(loss_fn)(z)
        updates, state = optimizer.update(grads, state, z)
        z = optax.apply_updates(z, updates)
        return (z, state, keep_best(best, z)), None

    start = jax.nn.sigmoid(logits_BxTxA)
    best = (start, table_regret(policy_fn, start))
    (_, _, best), _ = jax.lax.scan(step, (logits_BxTxA, optimizer.init(logits_BxTxA), best), None, length=steps)
    return best


def signed_gradient_tables(
    policy_fn: PolicyFn, logits_BxTxA: jax.Array, steps: int, step_size: float, temperature: float = 0.05
) -> jax.Array:
    """A cheap attack for training: `steps` signed-gradient ascent steps on sigmoid logits -> tables in [0, 1]."""
    grad_fn = jax.grad(lambda z: jnp.sum(smoothed_regret(policy_fn, jax.nn.sigmoid(z), temperature)))

    def step(z, _):
        return z + step_size * jnp.sign(grad_fn(z)), None

    logits_BxTxA, _ = jax.lax.scan(step, logits_BxTxA, None, length=steps)
    return jax.nn.sigmoid(logits_BxTxA)


def to_logits(rewards_BxTxA: jax.Array, margin: float = 0.02) -> jax.Array:
    """Sigmoid logits of given tables (clipped away from 0 and 1) to start a search from them."""
    clipped = jnp.clip(rewards_BxTxA, margin, 1.0 - margin)
    return jnp.log(clipped) - jnp.log1p(-clipped)


def gradient_attack(
    policy_fn: PolicyFn,
    horizon: int,
    num_actions: int,
    key: jax.Array,
    budget: GradientBudget = GradientBudget(),
    starts_BxTxA: jax.Array | None = None,
) -> dict:
    """Search tables maximizing the policy's regret; {'regret', 'regret_binary', 'table', 'table_binary'}.

    `starts_BxTxA` (optional, in [0, 1]) are extra starting tables, e.g. those an adaptive adversary
    produced; they are searched alongside the `budget.restarts` random starts.
    """
    budget.validate()
    init_BxTxA = budget.init_scale * jax.random.normal(key, (budget.restarts, horizon, num_actions))
    if starts_BxTxA is not None:
        init_BxTxA = jnp.concatenate([init_BxTxA, to_logits(jnp.asarray(starts_BxTxA, init_BxTxA.dtype))])
    search = jax.jit(lambda z: ascend(policy_fn, z, budget.steps, budget.learning_rate, budget.temperature))
    tables_BxTxA, regret_B = search(init_BxTxA)
    binary_BxTxA = jnp.round(tables_BxTxA)
    binary_B = jax.jit(lambda b: table_regret(policy_fn, b))(binary_BxTxA)
    best, best_binary = int(jnp.argmax(regret_B)), int(jnp.argmax(binary_B))
    return {
        "regret": float(regret_B[best]),
        "regret_binary": float(binary_B[best_binary]),
        "table": tables_BxTxA[best],
        "table_binary": binary_BxTxA[best_binary],
    }
