"""Tests for the scenario samplers in rmft_jax.envs: shapes, ranges, determinism, statistics, validation.

Compiles dominate the run time on CPU, so most checks share a few jitted functions.
"""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from rmft_jax import envs

T, A = 12, 3
SMALL = {
    **{f"fol/{name}": envs.make_fol(name, horizon=T, num_actions=A) for name in envs.FOL_SCENARIOS},
    "fol/mixture": envs.MixtureFOL(
        components=(envs.GaussianFOL(horizon=T, num_actions=A), envs.FTLAdversarialFOL(horizon=T, num_actions=A)),
        weights=(0.5, 0.5),
    ),
    "mab/fixed": envs.FixedMAB(means=(0.2, 0.5, 0.9), horizon=T),
    "mab/gap": envs.GapMAB(num_actions=A, horizon=T),
    "mab/random": envs.RandomMAB(num_actions=A, horizon=T),
    **{f"ns/{name}": envs.make_nsmab(name, num_actions=A, horizon=T) for name in envs.NSMAB_SCENARIOS},
    "ns/smooth_capped": envs.SmoothNSMAB(num_actions=A, horizon=T, variation_budget=50.0),
}


@jax.jit
def sample_all(key):
    """One compile for every small scenario: name -> sample(key)."""
    return {name: params.sample(key) for name, params in SMALL.items()}


def numpy_variation(means_TxA):
    """Reference V_T in float64."""
    return np.abs(np.diff(np.asarray(means_TxA, np.float64), axis=0)).max(axis=1).sum()


def rewards_of(sample):
    """The realized reward table of an FOL table or a bandit scenario."""
    return sample if isinstance(sample, jax.Array) else sample.rewards_TxA


def test_all_scenarios_shapes_dtypes_ranges_determinism():
    out, again, other = sample_all(jax.random.key(1)), sample_all(jax.random.key(1)), sample_all(jax.random.key(2))
    chex.assert_trees_all_equal(out, again)
    chex.assert_tree_all_finite(out)
    for name, sample in out.items():
        rewards_TxA = rewards_of(sample)
        chex.assert_shape(rewards_TxA, (T, A))
        chex.assert_type(rewards_TxA, jnp.float32)
        assert not np.array_equal(rewards_TxA, rewards_of(other[name])), name
        if name.startswith("fol/") and name not in ("fol/gaussian", "fol/mixture"):
            assert np.all((rewards_TxA >= 0) & (rewards_TxA <= 1)), name
        if not name.startswith("fol/"):
            chex.assert_shape(sample.means_TxA, (T, A))
            assert np.all((sample.means_TxA >= 0) & (sample.means_TxA <= 1)), name
            assert np.all(np.isin(rewards_TxA, [0.0, 1.0])), name  # Bernoulli by default
        if name.startswith("mab/"):
            np.testing.assert_array_equal(sample.means_TxA, jnp.broadcast_to(sample.means_TxA[0], (T, A)))
        if name.startswith("ns/"):
            chex.assert_shape(sample.variation, ())
            np.testing.assert_allclose(sample.variation, numpy_variation(sample.means_TxA), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out["mab/fixed"].means_TxA[0], np.float32([0.2, 0.5, 0.9]))
    # T=12 with cycles=1 cannot reach a budget of 50: amplitude is capped at 0.5.
    assert float(out["ns/smooth_capped"].variation) < 50.0
    assert float(jnp.ptp(out["ns/smooth_capped"].means_TxA)) > 0.95


@pytest.mark.parametrize("name", ["fol/sine_trend", "mab/gap"])
def test_sample_batch_equals_per_key_samples(name):
    key = jax.random.key(5)
    batch = envs.sample_batch(SMALL[name], key, 3)
    chex.assert_shape(rewards_of(batch), (3, T, A))
    for i, key_i in enumerate(jax.random.split(key, 3)):
        chex.assert_trees_all_close(
            jax.tree.map(lambda x: x[i], batch),  # noqa: B023 - called inside this iteration
            sample_all(key_i)[name],
            atol=1e-6,
        )


def test_sample_batch_jits_with_float_fields_traced():
    outer = jax.jit(envs.sample_batch, static_argnums=2)
    params = envs.SineTrendFOL(horizon=T, num_actions=A)
    flat_NxTxA = outer(params.replace(noise_std=0.0, amplitude=0.0), jax.random.key(0), 4)
    chex.assert_shape(flat_NxTxA, (4, T, A))
    np.testing.assert_array_equal(flat_NxTxA, 0.5)
    noisy_NxTxA = outer(params, jax.random.key(0), 4)  # same treedef: no retrace needed
    assert float(jnp.std(noisy_NxTxA)) > 0.1


@jax.jit
def _long_fol(key):
    """Long stochastic and Gaussian tables for the statistical checks."""
    key_s, key_g = jax.random.split(key)
    stochastic = envs.StochasticFOL(horizon=2000, num_actions=5, noise_std=0.3).sample_with_means(key_s)
    return stochastic, envs.GaussianFOL(horizon=2000, num_actions=5, std=2.0).sample(key_g)


def test_stochastic_and_gaussian_fol_statistics():
    (rewards_TxA, means_A), gaussian_TxA = _long_fol(jax.random.key(7))
    mu, s = np.asarray(means_A, np.float64), 0.3
    lo, hi = -mu / s, (1 - mu) / s
    # E[clip(mu + eps, 0, 1)] for eps ~ N(0, s^2): clipping pulls means near 0 and 1 inward.
    expected_A = mu * (stats.norm.cdf(hi) - stats.norm.cdf(lo)) + s * (stats.norm.pdf(lo) - stats.norm.pdf(hi))
    expected_A += stats.norm.sf(hi)
    np.testing.assert_allclose(np.asarray(rewards_TxA).mean(0), expected_A, atol=0.03)
    np.testing.assert_array_equal(np.argsort(rewards_TxA.mean(0)), np.argsort(mu))
    assert abs(float(gaussian_TxA.mean())) < 0.1 and abs(float(gaussian_TxA.std()) - 2.0) < 0.1


def test_linear_trend_is_monotone_without_noise():
    rewards_TxA = envs.LinearTrendFOL(horizon=T, num_actions=A, noise_std=0.0).sample(jax.random.key(2))
    diffs_TxA = np.diff(np.asarray(rewards_TxA), axis=0)
    assert np.all((diffs_TxA >= -1e-6).all(0) | (diffs_TxA <= 1e-6).all(0))


class FTLAdversarialTest(chex.TestCase):
    """Follow-the-Leader's linear regret on FTLAdversarialFOL."""

    @chex.variants(with_jit=True, without_jit=True)
    def test_ftl_has_linear_regret_and_pair_is_random(self):
        horizon, num_actions = 51, 5
        params = envs.FTLAdversarialFOL(horizon=horizon, num_actions=num_actions)
        tables_NxTxA = self.variant(functools.partial(envs.sample_batch, params, num=16))(jax.random.key(11))
        for rewards_TxA in np.asarray(tables_NxTxA, np.float64):
            cum_A, ftl_expected = np.zeros(num_actions), 0.0
            for t in range(horizon):
                leaders = np.flatnonzero(cum_A == cum_A.max())  # uniform over ties
                ftl_expected += rewards_TxA[t, leaders].mean()
                cum_A += rewards_TxA[t]
            assert abs(cum_A.max() - horizon / 2) <= 0.5
            assert cum_A.max() - ftl_expected >= 0.4 * horizon
            assert (cum_A > 0).sum() == 2  # only the pair gets reward
        pairs = {tuple(np.flatnonzero(t.sum(0))) for t in np.asarray(tables_NxTxA)}
        assert len(pairs) > 4


def test_mixture_frequencies_match_weights_and_labels_match_tables():
    comps = (
        envs.GaussianFOL(horizon=T, num_actions=A),
        envs.FTLAdversarialFOL(horizon=T, num_actions=A),
        envs.UniformFOL(horizon=T, num_actions=A),
    )
    mix = envs.MixtureFOL(components=comps, weights=(0.6, 0.3, 0.1))
    tables_NxTxA, labels_N = envs.sample_batch(mix, jax.random.key(0), 2000, method="sample_with_label")
    chex.assert_shape(tables_NxTxA, (2000, T, A))
    chex.assert_type(labels_N, jnp.int32)
    np.testing.assert_allclose(np.bincount(labels_N, minlength=3) / 2000, mix.weights, atol=0.04)
    tables = np.asarray(tables_NxTxA)
    np.testing.assert_array_equal(tables.min((1, 2)) < 0, labels_N == 0)  # only Gaussian goes negative
    np.testing.assert_array_equal(tables[:, 0].max(1) == 0.5, labels_N == 1)  # FTL's round-0 signature
    default = envs.MixtureFOL().validate()
    assert (default.horizon, default.num_actions) == (50, 5)


def _batches(key, named_params, num):
    """name -> vmapped samples of each params over `num` split keys (one compile per call site)."""
    return {name: jax.vmap(p.sample)(jax.random.split(key, num)) for name, p in named_params.items()}


LONG_MAB = {
    dist: envs.FixedMAB(means=(0.1, 0.5, 0.85), horizon=3000, reward_dist=dist, noise_std=0.5)
    for dist in envs.bandit.REWARD_DISTS
}


def test_fixed_mab_reward_statistics():
    out = jax.jit(lambda key: {d: p.sample(key) for d, p in LONG_MAB.items()})(jax.random.key(1))
    for scenario in out.values():
        np.testing.assert_allclose(scenario.rewards_TxA.mean(0), (0.1, 0.5, 0.85), atol=0.03)
    assert np.all(np.isin(out["bernoulli"].rewards_TxA, [0.0, 1.0]))
    assert abs(float(jnp.std(out["gaussian"].rewards_TxA - out["gaussian"].means_TxA)) - 0.5) < 0.02


GAP = {
    "hard": envs.hard_instance(horizon=T),
    "easy": envs.easy_instance(horizon=T),
    "range": envs.make_bandit("gap", num_actions=A, horizon=T, gap_range=[0.1, 0.5], random_best_arm=False),
}


def test_gap_instances():
    out = jax.jit(functools.partial(_batches, named_params=GAP, num=200))(jax.random.key(0))
    for name, num_actions, gap in [("hard", 5, 0.2), ("easy", 4, 0.5)]:
        means_NxA = np.asarray(out[name].means_TxA[:, 0])
        chex.assert_shape(means_NxA, (200, num_actions))
        top_N = means_NxA.max(1)
        assert np.all((means_NxA == top_N[:, None]).sum(1) == 1)  # unique best arm
        np.testing.assert_allclose(top_N - np.sort(means_NxA, 1)[:, -2], gap, atol=1e-6)
        np.testing.assert_allclose(top_N, 0.5 + gap / 2, atol=1e-6)
        assert len(set(means_NxA.argmax(1))) == num_actions  # the best arm's position varies
    means_NxA = np.asarray(out["range"].means_TxA[:, 0])
    assert np.all(means_NxA.argmax(1) == 0)  # random_best_arm=False
    gaps_N = means_NxA.max(1) - means_NxA.min(1)
    assert np.all((gaps_N >= 0.1 - 1e-6) & (gaps_N <= 0.5 + 1e-6))
    assert gaps_N.std() > 0.08  # U[0.1, 0.5] has std ~0.115


def test_nsmab_default_variation_within_budget():
    defaults = {name: envs.make_nsmab(name) for name in envs.NSMAB_SCENARIOS}
    out = jax.jit(functools.partial(_batches, named_params=defaults, num=32))(jax.random.key(0))
    # (lowest fraction of the budget for any scenario, lowest mean fraction)
    for name, (min_frac, mean_frac) in {"abrupt": (0.5, 0.8), "smooth": (0.99, 0.99)}.items():
        params, batch = defaults[name], out[name]
        chex.assert_shape(batch.means_TxA, (32, 100, 5))
        ours_N = np.array([numpy_variation(m) for m in batch.means_TxA])
        budget = params.variation_budget
        assert np.all(ours_N <= budget + 1e-5)
        assert np.all(ours_N >= min_frac * budget)
        assert ours_N.mean() >= mean_frac * budget
        np.testing.assert_allclose(batch.variation, ours_N, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(envs.variation(batch.means_TxA), ours_N, rtol=1e-5, atol=1e-6)
    num_changes_N = (np.abs(np.diff(out["abrupt"].means_TxA, axis=1)).max(2) > 0).sum(1)
    assert np.all(num_changes_N == defaults["abrupt"].num_changes)  # a jump of exactly 0 has probability 0


def test_variation_by_hand():
    means_TxA = np.array([[0.1, 0.2], [0.4, 0.2], [0.4, 0.0], [0.4, 0.0]])
    assert abs(float(envs.variation(means_TxA)) - 0.5) < 1e-6


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: envs.make_fol("nope"), "unknown FOL scenario 'nope'; choose one of"),
        (lambda: envs.make_bandit("nope"), "unknown bandit scenario"),
        (lambda: envs.make_nsmab("nope"), "unknown NS-MAB scenario"),
        (lambda: envs.make_fol("uniform", horizon=1), "horizon must be an integer >= 2"),
        (lambda: envs.make_fol("uniform", horizon=10.0), "horizon must be an integer"),
        (lambda: envs.make_fol("uniform", num_actions=1), "num_actions must be an integer >= 2"),
        (lambda: envs.make_fol("stochastic", noise_std=-0.1), "noise_std must be non-negative"),
        (lambda: envs.make_fol("gaussian", std=0.0), "std must be positive"),
        (lambda: envs.make_fol("stochastic", noise=0.1), "has no field"),
        (lambda: envs.make_bandit("random", reward_dist="poisson"), "unknown reward_dist"),
        (lambda: envs.make_bandit("fixed", means=(0.5, 1.5)), r"means must lie in \[0.0, 1.0\]"),
        (lambda: envs.make_bandit("gap", gap_range=(0.5, 0.1)), "low <= high"),
        (lambda: envs.make_nsmab("abrupt", variation_budget=-1.0), "variation_budget must be positive"),
        (lambda: envs.make_nsmab("abrupt", horizon=4, num_changes=5), "num_changes must be at most"),
        (lambda: envs.make_nsmab("smooth", horizon=10, cycles=8.0), "cycles must be at most"),
        (
            lambda: envs.MixtureFOL(
                components=(envs.UniformFOL(horizon=10), envs.UniformFOL(horizon=20)), weights=(0.5, 0.5)
            ).validate(),
            "must share",
        ),
        (
            lambda: envs.MixtureFOL(components=(envs.UniformFOL(),), weights=(0.5, 0.5)).validate(),
            "one probability per component",
        ),
        (
            lambda: envs.MixtureFOL(components=(envs.UniformFOL(), envs.GaussianFOL()), weights=(0.5, 0.6)).validate(),
            "must sum to 1",
        ),
        (
            lambda: envs.MixtureFOL(components=(envs.UniformFOL(), envs.GaussianFOL()), weights=(1.5, -0.5)).validate(),
            "weights must be non-negative",
        ),
        (lambda: envs.sample_batch(envs.UniformFOL(), jax.random.key(0), 0), "num must be an integer >= 1"),
        (lambda: envs.UniformFOL(num_actions=1).sample(jax.random.key(0)), "num_actions"),
        (lambda: envs.variation(np.zeros(5)), r"shape \(\.\.\., T, A\)"),
    ],
)
def test_bad_input_raises(build, match):
    with pytest.raises(ValueError, match=match):
        build()
