"""Stochastic multi-armed bandits (MAB): a scenario is a `BanditScenario(means_TxA, rewards_TxA)`.

The realized rewards of every arm and round are drawn up front from the key, so the L rollouts of
one scenario see common random numbers. A rollout reveals only `rewards_TxA[t, a_t]`; pseudo-regret
uses `means_TxA`. Parameter classes are frozen `flax.struct.dataclass`es with static shape fields;
`sample(key)` returns a `BanditScenario`, `validate()` raises ValueError and returns the object.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from rmft_jax._checks import check_choice, check_in_range, check_positive
from rmft_jax.envs.common import check_shape_fields, make_from_registry, sample_batch

__all__ = [
    "BanditScenario",
    "FixedMAB",
    "GapMAB",
    "RandomMAB",
    "hard_instance",
    "easy_instance",
    "BANDIT_SCENARIOS",
    "make_bandit",
    "draw_rewards",
    "REWARD_DISTS",
    "sample_batch",
]

_F32 = jnp.float32
REWARD_DISTS = ("bernoulli", "gaussian")


@struct.dataclass
class BanditScenario:
    """One bandit instance: arm means and the pre-drawn realized rewards, both float32 (T, A)."""

    means_TxA: jax.Array
    rewards_TxA: jax.Array


def check_reward_dist(reward_dist: str, noise_std: Any) -> None:
    """Raise ValueError for an unknown reward distribution or a negative Gaussian noise std."""
    check_choice("reward_dist", reward_dist, REWARD_DISTS)
    check_positive("noise_std", noise_std, allow_zero=True)


def draw_rewards(key: jax.Array, means_TxA: jax.Array, reward_dist: str, noise_std: Any = 0.1) -> jax.Array:
    """Draw float32 rewards: Bernoulli(means) in {0, 1}, or means + N(0, noise_std^2) (unclipped)."""
    check_reward_dist(reward_dist, noise_std)
    if reward_dist == "bernoulli":
        return (jax.random.uniform(key, means_TxA.shape, _F32) < means_TxA).astype(_F32)
    return (means_TxA + noise_std * jax.random.normal(key, means_TxA.shape, _F32)).astype(_F32)


def _scenario(key: jax.Array, means_A: jax.Array, horizon: int, reward_dist: str, noise_std: Any) -> BanditScenario:
    """Tile stationary `means_A` over T rounds and draw the realized rewards."""
    means_TxA = jnp.broadcast_to(means_A.astype(_F32), (horizon, means_A.shape[-1]))
    return BanditScenario(means_TxA, draw_rewards(key, means_TxA, reward_dist, noise_std))


@struct.dataclass
class FixedMAB:
    """A stationary bandit with the given arm means (a tuple; it sets num_actions)."""

    means: tuple = struct.field(pytree_node=False, default=(0.7, 0.5, 0.3))
    horizon: int = struct.field(pytree_node=False, default=100)
    reward_dist: str = struct.field(pytree_node=False, default="bernoulli")
    noise_std: float = 0.1

    @property
    def num_actions(self) -> int:
        """The number of arms A = len(means)."""
        return len(self.means)

    def validate(self) -> FixedMAB:
        """Check the settings; return self."""
        if not isinstance(self.means, tuple):
            raise ValueError(
                f"means must be a tuple of floats (hashable, it is static), got {self.means!r}; pass tuple(means)."
            )
        check_shape_fields(self.horizon, self.num_actions)
        check_reward_dist(self.reward_dist, self.noise_std)
        if self.reward_dist == "bernoulli":
            check_in_range("means", self.means, 0.0, 1.0)
        return self

    def sample(self, key: jax.Array) -> BanditScenario:
        """Return a BanditScenario with means_TxA tiled from `means` and fresh realized rewards."""
        self.validate()
        return _scenario(key, jnp.asarray(self.means, _F32), self.horizon, self.reward_dist, self.noise_std)


@struct.dataclass
class GapMAB:
    """Krishnamurthy et al. (2024) instances: best arm 0.5 + gap/2, the others 0.5 - gap/2.

    The best arm sits at a random index when `random_best_arm`, else at index 0. With
    `gap_range=(low, high)` the gap is drawn per scenario from U[low, high] and `gap` is ignored.
    """

    num_actions: int = struct.field(pytree_node=False, default=5)
    gap: float = 0.2
    horizon: int = struct.field(pytree_node=False, default=100)
    random_best_arm: bool = struct.field(pytree_node=False, default=True)
    gap_range: tuple | None = struct.field(pytree_node=False, default=None)
    reward_dist: str = struct.field(pytree_node=False, default="bernoulli")
    noise_std: float = 0.1

    def validate(self) -> GapMAB:
        """Check the settings; return self."""
        check_shape_fields(self.horizon, self.num_actions)
        check_reward_dist(self.reward_dist, self.noise_std)
        if self.gap_range is None:
            check_positive("gap", self.gap)
            check_in_range("gap", self.gap, 0.0, 1.0)
        else:
            if not isinstance(self.gap_range, tuple) or len(self.gap_range) != 2:
                raise ValueError(f"gap_range must be a tuple (low, high), got {self.gap_range!r}.")
            low, high = self.gap_range
            check_positive("gap_range", self.gap_range)
            check_in_range("gap_range", self.gap_range, 0.0, 1.0)
            if low > high:
                raise ValueError(f"gap_range must have low <= high, got {self.gap_range!r}.")
        return self

    def sample(self, key: jax.Array) -> BanditScenario:
        """Return a BanditScenario whose unique best arm leads the others by the gap."""
        self.validate()
        key_best, key_gap, key_rewards = jax.random.split(key, 3)
        if self.gap_range is None:
            gap = jnp.asarray(self.gap, _F32)
        else:
            gap = jax.random.uniform(key_gap, (), _F32, self.gap_range[0], self.gap_range[1])
        best = jax.random.randint(key_best, (), 0, self.num_actions) if self.random_best_arm else 0
        is_best_A = jnp.arange(self.num_actions) == best
        means_A = jnp.where(is_best_A, 0.5 + gap / 2, 0.5 - gap / 2)
        return _scenario(key_rewards, means_A, self.horizon, self.reward_dist, self.noise_std)


def hard_instance(horizon: int = 100, **kwargs: Any) -> GapMAB:
    """Krishnamurthy et al.'s hard MAB: K = 5 arms, gap 0.2 (extra GapMAB fields via kwargs)."""
    return GapMAB(num_actions=5, gap=0.2, horizon=horizon, **kwargs).validate()


def easy_instance(horizon: int = 100, **kwargs: Any) -> GapMAB:
    """Krishnamurthy et al.'s easy MAB: K = 4 arms, gap 0.5 (extra GapMAB fields via kwargs)."""
    return GapMAB(num_actions=4, gap=0.5, horizon=horizon, **kwargs).validate()


@struct.dataclass
class RandomMAB:
    """A stationary bandit with arm means drawn from U[0, 1]^A per scenario."""

    num_actions: int = struct.field(pytree_node=False, default=5)
    horizon: int = struct.field(pytree_node=False, default=100)
    reward_dist: str = struct.field(pytree_node=False, default="bernoulli")
    noise_std: float = 0.1

    def validate(self) -> RandomMAB:
        """Check the settings; return self."""
        check_shape_fields(self.horizon, self.num_actions)
        check_reward_dist(self.reward_dist, self.noise_std)
        return self

    def sample(self, key: jax.Array) -> BanditScenario:
        """Return a BanditScenario with U[0, 1] arm means."""
        self.validate()
        key_means, key_rewards = jax.random.split(key)
        means_A = jax.random.uniform(key_means, (self.num_actions,), _F32)
        return _scenario(key_rewards, means_A, self.horizon, self.reward_dist, self.noise_std)


BANDIT_SCENARIOS = {"fixed": FixedMAB, "gap": GapMAB, "random": RandomMAB}


def make_bandit(name: str, **kwargs: Any) -> Any:
    """Build and validate `BANDIT_SCENARIOS[name](**kwargs)`; lists for means/gap_range become tuples."""
    for field in ("means", "gap_range"):
        if isinstance(kwargs.get(field), list):
            kwargs[field] = tuple(kwargs[field])
    return make_from_registry("bandit", BANDIT_SCENARIOS, name, kwargs)
