"""Non-stationary bandits (NS-MAB): arm means drift under a variation budget.

The variation of a mean table is V_T = sum_{t >= 1} ||mu_t - mu_{t-1}||_inf (`variation`). A
scenario is an `NSBanditScenario(means_TxA, rewards_TxA, variation)`: the drifting means, the
realized rewards drawn up front (common random numbers across rollouts), and the realized V_T of
`means_TxA` (float32 scalar, <= variation_budget up to float rounding). Dynamic regret compares
with the per-round best arm of `means_TxA`.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from rmft_jax._checks import check_int, check_min_ndim, check_positive
from rmft_jax.envs.bandit import check_reward_dist, draw_rewards
from rmft_jax.envs.common import check_shape_fields, make_from_registry, sample_batch

__all__ = [
    "NSBanditScenario",
    "AbruptNSMAB",
    "SmoothNSMAB",
    "NSMAB_SCENARIOS",
    "make_nsmab",
    "variation",
    "sample_batch",
]

_F32 = jnp.float32


@struct.dataclass
class NSBanditScenario:
    """One NS-MAB instance: float32 means_TxA, realized rewards_TxA, and the realized V_T (scalar)."""

    means_TxA: jax.Array
    rewards_TxA: jax.Array
    variation: jax.Array


def variation(means_TxA: Any) -> jax.Array:
    """Realized variation V_T = sum_{t>=1} max_a |mu[t, a] - mu[t-1, a]|; leading batch axes are kept."""
    check_min_ndim("means_TxA", means_TxA, 2, "(..., T, A)")
    means_TxA = jnp.asarray(means_TxA)
    return jnp.sum(jnp.max(jnp.abs(jnp.diff(means_TxA, axis=-2)), axis=-1), axis=-1)


def _check_common(params: Any) -> None:
    """Checks shared by the NS-MAB classes: shapes, reward distribution, budget."""
    check_shape_fields(params.horizon, params.num_actions)
    check_reward_dist(params.reward_dist, params.noise_std)
    check_positive("variation_budget", params.variation_budget)


def _scenario(key: jax.Array, means_TxA: jax.Array, params: Any) -> NSBanditScenario:
    """Draw the realized rewards for `means_TxA` and attach its realized variation."""
    means_TxA = means_TxA.astype(_F32)
    rewards_TxA = draw_rewards(key, means_TxA, params.reward_dist, params.noise_std)
    return NSBanditScenario(means_TxA, rewards_TxA, variation(means_TxA))


@struct.dataclass
class AbruptNSMAB:
    """Piecewise-constant means with `num_changes` change points at random distinct rounds in [1, T-1].

    The first segment's means are U[0, 1]^A. At each change the mean vector moves toward a fresh
    U[0, 1]^A target, with the step shrunk so its inf-norm is at most variation_budget / num_changes
    (a convex step, so means stay in [0, 1]). Hence V_T <= variation_budget; with the defaults most
    jumps hit the cap and V_T is typically 85-100% of the budget. The best arm usually, but not
    always, changes at a change point.
    """

    num_actions: int = struct.field(pytree_node=False, default=5)
    horizon: int = struct.field(pytree_node=False, default=100)
    variation_budget: float = 2.0
    num_changes: int = struct.field(pytree_node=False, default=4)
    reward_dist: str = struct.field(pytree_node=False, default="bernoulli")
    noise_std: float = 0.1

    def validate(self) -> AbruptNSMAB:
        """Check the settings; return self."""
        _check_common(self)
        check_int("num_changes", self.num_changes, 1, "use RandomMAB for a stationary bandit")
        if self.num_changes > self.horizon - 1:
            raise ValueError(
                f"num_changes must be at most horizon - 1 = {self.horizon - 1} (changes happen at distinct "
                f"rounds 1..T-1), got {self.num_changes}."
            )
        return self

    def sample(self, key: jax.Array) -> NSBanditScenario:
        """Return an NSBanditScenario with piecewise-constant means."""
        self.validate()
        key_times, key_init, key_targets, key_rewards = jax.random.split(key, 4)
        changes_C = 1 + jax.random.choice(key_times, self.horizon - 1, (self.num_changes,), replace=False)
        init_A = jax.random.uniform(key_init, (self.num_actions,), _F32)
        targets_CxA = jax.random.uniform(key_targets, (self.num_changes, self.num_actions), _F32)
        max_jump = jnp.asarray(self.variation_budget, _F32) / self.num_changes

        def jump(mean_A, target_A):
            """Move toward target_A by at most max_jump in inf-norm."""
            step_A = target_A - mean_A
            size = jnp.max(jnp.abs(step_A))
            scale = jnp.minimum(1.0, max_jump / jnp.maximum(size, 1e-12))
            new_A = jnp.clip(mean_A + scale * step_A, 0.0, 1.0)
            return new_A, new_A

        _, later_CxA = jax.lax.scan(jump, init_A, targets_CxA)
        segments_SxA = jnp.concatenate([init_A[None], later_CxA], axis=0)  # S = C + 1 segments
        # Segment of round t = how many change points are at or before t.
        segment_T = jnp.sum(jnp.arange(self.horizon)[:, None] >= changes_C[None, :], axis=1)
        return _scenario(key_rewards, segments_SxA[segment_T], self)


@struct.dataclass
class SmoothNSMAB:
    """Sinusoidal drift: mu[t, a] = 0.5 + amp * sin(2 pi cycles t / T + phase_a), random phases.

    amp = min(0.5, variation_budget / V_unit), where V_unit is the variation of the unit-amplitude
    waves with the drawn phases; V_T is linear in amp, so V_T equals the budget unless that needs
    amp > 0.5 (means would leave [0, 1]), in which case V_T = V_unit / 2 < budget. With T = 100,
    cycles = 1 reaches budgets up to about 2.7.
    """

    num_actions: int = struct.field(pytree_node=False, default=5)
    horizon: int = struct.field(pytree_node=False, default=100)
    variation_budget: float = 2.0
    cycles: float = 1.0
    reward_dist: str = struct.field(pytree_node=False, default="bernoulli")
    noise_std: float = 0.1

    def validate(self) -> SmoothNSMAB:
        """Check the settings; return self."""
        _check_common(self)
        check_positive("cycles", self.cycles)
        if isinstance(self.cycles, (int, float)) and self.cycles > self.horizon / 2:
            raise ValueError(
                f"cycles must be at most horizon / 2 = {self.horizon / 2} (Nyquist: at least two rounds "
                f"per cycle), got {self.cycles}."
            )
        return self

    def sample(self, key: jax.Array) -> NSBanditScenario:
        """Return an NSBanditScenario with smoothly drifting means."""
        self.validate()
        key_phase, key_rewards = jax.random.split(key)
        phase_A = jax.random.uniform(key_phase, (self.num_actions,), _F32, 0.0, 2 * math.pi)
        t_T = jnp.arange(self.horizon, dtype=_F32)
        wave_TxA = jnp.sin(2 * math.pi * self.cycles * t_T[:, None] / self.horizon + phase_A)
        amp = jnp.minimum(0.5, self.variation_budget / jnp.maximum(variation(wave_TxA), 1e-12))
        return _scenario(key_rewards, 0.5 + amp * wave_TxA, self)


NSMAB_SCENARIOS = {"abrupt": AbruptNSMAB, "smooth": SmoothNSMAB}


def make_nsmab(name: str, **kwargs: Any) -> Any:
    """Build and validate `NSMAB_SCENARIOS[name](**kwargs)`; ValueError on bad input."""
    return make_from_registry("NS-MAB", NSMAB_SCENARIOS, name, kwargs)
