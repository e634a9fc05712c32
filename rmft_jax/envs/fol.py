"""Full-information online learning (FOL): a scenario is a reward table `rewards_TxA` drawn from a key.

Every class is a frozen `flax.struct.dataclass` whose shape fields (horizon T, num_actions A) are
static and whose float knobs are pytree leaves. `sample(key)` returns float32 `rewards_TxA`;
`validate()` raises ValueError on bad settings and returns the object. Batch with
`sample_batch(params, key, num)`. All rewards lie in [0, 1] except `GaussianFOL`'s.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from rmft_jax._checks import check_in_range, check_positive
from rmft_jax.envs.common import check_shape_fields, make_from_registry, sample_batch

__all__ = [
    "StochasticFOL",
    "UniformFOL",
    "LinearTrendFOL",
    "SineTrendFOL",
    "FTLAdversarialFOL",
    "GaussianFOL",
    "MixtureFOL",
    "FOL_SCENARIOS",
    "make_fol",
    "sample_batch",
    "sample_rollout_tables",
]

_F32 = jnp.float32


def _noisy_clipped(key: jax.Array, means_TxA: jax.Array, noise_std: Any) -> jax.Array:
    """Add N(0, noise_std^2) noise to `means_TxA` and clip to [0, 1]."""
    noise_TxA = noise_std * jax.random.normal(key, means_TxA.shape, _F32)
    return jnp.clip(means_TxA + noise_TxA, 0.0, 1.0).astype(_F32)


@struct.dataclass
class StochasticFOL:
    """Stationary stochastic rewards: clip(mu_a + N(0, noise_std^2)), mu ~ U[0,1]^A per scenario."""

    horizon: int = struct.field(pytree_node=False, default=50)
    num_actions: int = struct.field(pytree_node=False, default=5)
    noise_std: float = 0.3

    def validate(self) -> StochasticFOL:
        """Check the settings; return self."""
        check_shape_fields(self.horizon, self.num_actions)
        check_positive("noise_std", self.noise_std, allow_zero=True)
        return self

    def sample_with_means(self, key: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Return (rewards_TxA, means_A); means_A is the pre-noise, pre-clip mean of each action."""
        return self._draw_with_means(*jax.random.split(key))

    def _draw_with_means(self, key_mean: jax.Array, key_noise: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(rewards_TxA, means_A) with the means from `key_mean` and the noise from `key_noise`."""
        self.validate()
        means_A = jax.random.uniform(key_mean, (self.num_actions,), _F32)
        means_TxA = jnp.broadcast_to(means_A, (self.horizon, self.num_actions))
        return _noisy_clipped(key_noise, means_TxA, self.noise_std), means_A

    def draw(self, key_process: jax.Array, key_noise: jax.Array) -> jax.Array:
        """Rewards_TxA with the process (the means) from `key_process` and the noise from `key_noise`."""
        return self._draw_with_means(key_process, key_noise)[0]

    def sample(self, key: jax.Array) -> jax.Array:
        """Return float32 rewards_TxA in [0, 1]."""
        return self.sample_with_means(key)[0]


@struct.dataclass
class UniformFOL:
    """I.i.d. U[0, 1] rewards for every round and action."""

    horizon: int = struct.field(pytree_node=False, default=50)
    num_actions: int = struct.field(pytree_node=False, default=5)

    def validate(self) -> UniformFOL:
        """Check the settings; return self."""
        check_shape_fields(self.horizon, self.num_actions)
        return self

    def sample(self, key: jax.Array) -> jax.Array:
        """Return float32 rewards_TxA in [0, 1]."""
        self.validate()
        return jax.random.uniform(key, (self.horizon, self.num_actions), _F32)

    def draw(self, key_process: jax.Array, key_noise: jax.Array) -> jax.Array:
        """Rewards_TxA: no process parameters, everything is noise."""
        return self.sample(key_noise)


@struct.dataclass
class LinearTrendFOL:
    """Each action's mean moves linearly from a U[0,1] start to a U[0,1] end level; plus noise, clipped."""

    horizon: int = struct.field(pytree_node=False, default=50)
    num_actions: int = struct.field(pytree_node=False, default=5)
    noise_std: float = 0.1

    def validate(self) -> LinearTrendFOL:
        """Check the settings; return self."""
        check_shape_fields(self.horizon, self.num_actions)
        check_positive("noise_std", self.noise_std, allow_zero=True)
        return self

    def sample(self, key: jax.Array) -> jax.Array:
        """Return float32 rewards_TxA in [0, 1]."""
        return self.draw(*jax.random.split(key))

    def draw(self, key_ends: jax.Array, key_noise: jax.Array) -> jax.Array:
        """Rewards_TxA with the trend's end levels from `key_ends` and the noise from `key_noise`."""
        self.validate()
        ends_2xA = jax.random.uniform(key_ends, (2, self.num_actions), _F32)
        frac_T = jnp.linspace(0.0, 1.0, self.horizon, dtype=_F32)
        means_TxA = ends_2xA[0] + (ends_2xA[1] - ends_2xA[0]) * frac_T[:, None]
        return _noisy_clipped(key_noise, means_TxA, self.noise_std)


@struct.dataclass
class SineTrendFOL:
    """Means 0.5 + amplitude * sin(2 pi cycles t / T + phase_a), random phase per action; plus noise, clipped."""

    horizon: int = struct.field(pytree_node=False, default=50)
    num_actions: int = struct.field(pytree_node=False, default=5)
    noise_std: float = 0.1
    amplitude: float = 0.4
    cycles: float = 2.0

    def validate(self) -> SineTrendFOL:
        """Check the settings; return self."""
        check_shape_fields(self.horizon, self.num_actions)
        check_positive("noise_std", self.noise_std, allow_zero=True)
        # amplitude <= 0.5 keeps the noise-free trend inside [0, 1], so clipping only trims noise.
        check_in_range("amplitude", self.amplitude, 0.0, 0.5)
        check_positive("cycles", self.cycles, allow_zero=True)
        return self

    def sample(self, key: jax.Array) -> jax.Array:
        """Return float32 rewards_TxA in [0, 1]."""
        return self.draw(*jax.random.split(key))

    def draw(self, key_phase: jax.Array, key_noise: jax.Array) -> jax.Array:
        """Rewards_TxA with the phases from `key_phase` and the noise from `key_noise`."""
        self.validate()
        phase_A = jax.random.uniform(key_phase, (self.num_actions,), _F32, 0.0, 2 * math.pi)
        t_T = jnp.arange(self.horizon, dtype=_F32)
        angle_TxA = 2 * math.pi * self.cycles * t_T[:, None] / self.horizon + phase_A
        means_TxA = 0.5 + self.amplitude * jnp.sin(angle_TxA)
        return _noisy_clipped(key_noise, means_TxA, self.noise_std)


@struct.dataclass
class FTLAdversarialFOL:
    """The classic sequence on which Follow-the-Leader (FTL) has linear regret.

    A random pair (i, j) of distinct actions is drawn from the key. Round 0 gives (r_i, r_j) =
    (0.5, 0); after that the pair alternates (0, 1), (1, 0), (0, 1), ... Every other action gets the
    constant `background` (< 0.5, default 0), so its cumulative reward stays below the pair's
    leader. FTL (argmax of cumulative reward, uniform over ties) switches to the action that is
    about to get 0 in every round t >= 1, so it earns at most r(round 0) <= 0.5 in total, while the
    best fixed action earns about T/2: regret ~ T/2.
    """

    horizon: int = struct.field(pytree_node=False, default=50)
    num_actions: int = struct.field(pytree_node=False, default=5)
    background: float = 0.0

    def validate(self) -> FTLAdversarialFOL:
        """Check the settings; return self."""
        check_shape_fields(self.horizon, self.num_actions)
        # background >= 0.5 would let a bystander action overtake the pair and break the trap.
        check_in_range("background", self.background, 0.0, 0.25)
        return self

    def sample(self, key: jax.Array) -> jax.Array:
        """Return float32 rewards_TxA in [0, 1]."""
        self.validate()
        pair_2 = jax.random.choice(key, self.num_actions, (2,), replace=False)
        t_T = jnp.arange(self.horizon)
        first_T = jnp.where(t_T == 0, 0.5, (t_T % 2 == 0).astype(_F32))  # 0.5, 0, 1, 0, 1, ...
        second_T = (t_T % 2 == 1).astype(_F32)  # 0, 1, 0, 1, ...
        rewards_TxA = jnp.full((self.horizon, self.num_actions), self.background, _F32)
        rewards_TxA = rewards_TxA.at[:, pair_2[0]].set(first_T)
        return rewards_TxA.at[:, pair_2[1]].set(second_T)

    def draw(self, key_process: jax.Array, key_noise: jax.Array) -> jax.Array:
        """Rewards_TxA: the pair comes from `key_process`; the sequence has no noise."""
        return self.sample(key_process)


@struct.dataclass
class GaussianFOL:
    """Zero-mean symmetric i.i.d. N(0, std^2) rewards (unbounded), the setting of the FTRL theory."""

    horizon: int = struct.field(pytree_node=False, default=50)
    num_actions: int = struct.field(pytree_node=False, default=5)
    std: float = 1.0

    def validate(self) -> GaussianFOL:
        """Check the settings; return self."""
        check_shape_fields(self.horizon, self.num_actions)
        check_positive("std", self.std)
        return self

    def sample(self, key: jax.Array) -> jax.Array:
        """Return float32 rewards_TxA (not bounded)."""
        self.validate()
        return self.std * jax.random.normal(key, (self.horizon, self.num_actions), _F32)

    def draw(self, key_process: jax.Array, key_noise: jax.Array) -> jax.Array:
        """Rewards_TxA: no process parameters, everything is noise."""
        return self.sample(key_noise)


_DEFAULT_COMPONENTS = (StochasticFOL(), LinearTrendFOL(), SineTrendFOL(), FTLAdversarialFOL())


@struct.dataclass
class MixtureFOL:
    """Draws one component scenario per sample with probabilities `weights` (a tuple summing to 1).

    All components must share horizon and num_actions. `weights` is static (hashable tuple), so it
    is always checked, also under jit; the components are pytrees.
    """

    components: tuple = _DEFAULT_COMPONENTS
    weights: tuple = struct.field(pytree_node=False, default=(0.25, 0.25, 0.25, 0.25))

    @property
    def horizon(self) -> int:
        """The shared horizon T of the components."""
        return self.components[0].horizon

    @property
    def num_actions(self) -> int:
        """The shared action count A of the components."""
        return self.components[0].num_actions

    def validate(self) -> MixtureFOL:
        """Check components, shared shapes and weights; return self."""
        if not isinstance(self.components, tuple) or not self.components:
            raise ValueError(f"components must be a non-empty tuple of FOL scenarios, got {self.components!r}.")
        for i, comp in enumerate(self.components):
            if not callable(getattr(comp, "sample", None)) or not callable(getattr(comp, "validate", None)):
                raise ValueError(f"components[{i}] must be an FOL scenario (e.g. StochasticFOL()), got {comp!r}.")
            comp.validate()
            shape, first = (comp.horizon, comp.num_actions), (self.horizon, self.num_actions)
            if shape != first:
                raise ValueError(
                    f"all components must share (horizon, num_actions); components[0] has {first} but "
                    f"components[{i}] has {shape}; build them with the same horizon and num_actions."
                )
        if not isinstance(self.weights, tuple) or len(self.weights) != len(self.components):
            raise ValueError(
                f"weights must be a tuple with one probability per component ({len(self.components)}), "
                f"got {self.weights!r}."
            )
        check_positive("weights", self.weights, allow_zero=True)
        if abs(math.fsum(self.weights) - 1.0) > 1e-6:
            raise ValueError(f"weights must sum to 1, got {self.weights!r} (sum {math.fsum(self.weights)}).")
        return self

    def sample_with_label(self, key: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Return (rewards_TxA, component_index): the table and which component (int32) drew it."""
        self.validate()
        key_pick, key_comp = jax.random.split(key)
        probs_C = jnp.asarray(self.weights, _F32)
        index = jax.random.choice(key_pick, len(self.components), p=probs_C).astype(jnp.int32)
        branches = [lambda k, c=c: c.sample(k).astype(_F32) for c in self.components]
        return jax.lax.switch(index, branches, key_comp), index

    def sample(self, key: jax.Array) -> jax.Array:
        """Return float32 rewards_TxA from one randomly chosen component."""
        return self.sample_with_label(key)[0]

    def draw(self, key_process: jax.Array, key_noise: jax.Array) -> jax.Array:
        """Rewards_TxA: the component and its process from `key_process`, the noise from `key_noise`."""
        self.validate()
        key_pick, key_comp = jax.random.split(key_process)
        index = jax.random.choice(key_pick, len(self.components), p=jnp.asarray(self.weights, _F32))
        branches = [lambda kp, kn, c=c: c.draw(kp, kn).astype(_F32) for c in self.components]
        return jax.lax.switch(index, branches, key_comp, key_noise)


FOL_SCENARIOS = {
    "stochastic": StochasticFOL,
    "uniform": UniformFOL,
    "linear_trend": LinearTrendFOL,
    "sine_trend": SineTrendFOL,
    "ftl_adversarial": FTLAdversarialFOL,
    "gaussian": GaussianFOL,
}


def sample_rollout_tables(env: Any, key: jax.Array, num_rollouts: int) -> jax.Array:
    """L reward tables (L, T, A) of one scenario: one process drawn from `key`, fresh noise per rollout."""
    key_process, key_noise = jax.random.split(key)
    return jax.vmap(lambda k: env.draw(key_process, k))(jax.random.split(key_noise, num_rollouts))


def make_fol(name: str, **kwargs: Any) -> Any:
    """Build and validate the FOL scenario `FOL_SCENARIOS[name](**kwargs)`; ValueError on bad input."""
    return make_from_registry("FOL", FOL_SCENARIOS, name, kwargs)
