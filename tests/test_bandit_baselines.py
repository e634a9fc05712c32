"""Bandit baselines against plain numpy references, plus regret, exploration, jit and input checks."""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from absl.testing import parameterized
from jax.extend.random import threefry_2x32
from scipy import stats

from rmft_jax import metrics
from rmft_jax.baselines import bandits, counter_rng
from rmft_jax.baselines.bandits import run_bandit


def _instance(num_actions, best, other, horizon):
    """Stationary Bernoulli instance with arm 0 best: means (T, A)."""
    means_TxA = np.full((horizon, num_actions), other, np.float32)
    means_TxA[:, 0] = best
    return means_TxA


def _gaussian_table(seed, num_runs=8, horizon=60, num_actions=4):
    """Per-run Gaussian reward tables (no ties in empirical means) and their means (T, A)."""
    rng = np.random.default_rng(seed)
    means_A = rng.uniform(0.2, 0.8, num_actions)
    noise_NxTxA = rng.normal(0.0, 0.5, (num_runs, horizon, num_actions))
    means_TxA = np.broadcast_to(means_A, (horizon, num_actions)).astype(np.float32)
    return means_TxA, (means_A + noise_NxTxA).astype(np.float32)


def _pseudo_regret_NxT(means_TxA, actions_NxT):
    """Cumulative pseudo-regret curves: sum over s <= t of max_a mu_s(a) - mu_s(a_s)."""
    means_TxA = np.asarray(means_TxA, np.float64)
    chosen_NxT = np.take_along_axis(means_TxA[None], np.asarray(actions_NxT)[..., None], axis=2)[..., 0]
    return np.cumsum(means_TxA.max(axis=1)[None] - chosen_NxT, axis=1)


def _np_index_policy(rewards_NxTxA, index_fn):
    """Reference loop: arm t in rounds t < A, then argmax of index_fn(t, actions_NxS, rewards_NxS)."""
    num_runs, horizon, num_actions = rewards_NxTxA.shape
    actions_NxT = np.zeros((num_runs, horizon), np.int64)
    for t in range(horizon):
        if t < num_actions:
            actions_NxT[:, t] = t
        else:
            observed_NxS = _observed(rewards_NxTxA, actions_NxT, t)
            actions_NxT[:, t] = np.argmax(index_fn(t, actions_NxT[:, :t], observed_NxS), axis=1)
    return actions_NxT


def _observed(rewards_NxTxA, actions_NxT, t):
    """Rewards the learner saw in rounds 0..t-1: (N, t)."""
    return np.take_along_axis(rewards_NxTxA[:, :t], actions_NxT[:, :t, None], axis=2)[..., 0]


def _weighted_stats(actions_NxS, rewards_NxS, num_actions, weights_S):
    """Weighted pull counts and reward sums per arm: (N, A) each."""
    onehot_NxSxA = np.eye(num_actions)[actions_NxS] * weights_S[None, :, None]
    return onehot_NxSxA.sum(1), (onehot_NxSxA * rewards_NxS[..., None]).sum(1)


def _np_ucb1(t, actions_NxS, rewards_NxS, num_actions, c=2.0):
    """UCB1 index from the full history."""
    counts, sums = _weighted_stats(actions_NxS, rewards_NxS, num_actions, np.ones(t))
    return sums / counts + np.sqrt(c * np.log(t) / counts)


def _np_greedy(t, actions_NxS, rewards_NxS, num_actions):
    """Empirical means from the full history."""
    counts, sums = _weighted_stats(actions_NxS, rewards_NxS, num_actions, np.ones(t))
    return sums / counts


def _np_sw_ucb(t, actions_NxS, rewards_NxS, num_actions, window, xi):
    """SW-UCB index recomputed from the last `window` rounds; absent arms get +inf."""
    weights_S = (np.arange(t) >= t - window).astype(float)
    counts, sums = _weighted_stats(actions_NxS, rewards_NxS, num_actions, weights_S)
    with np.errstate(divide="ignore", invalid="ignore"):
        index = sums / counts + np.sqrt(xi * np.log(min(t, window)) / counts)
    return np.where(counts > 0, index, np.inf)


def _np_d_ucb(t, actions_NxS, rewards_NxS, num_actions, discount, xi):
    """D-UCB index with weights discount^(t-1-s) over the full history."""
    counts, sums = _weighted_stats(actions_NxS, rewards_NxS, num_actions, discount ** np.arange(t - 1, -1, -1.0))
    total = counts.sum(1, keepdims=True)
    return sums / counts + 2.0 * np.sqrt(xi * np.log(total) / counts)


@pytest.mark.parametrize(
    "name, reference, hparams",
    [
        ("ucb1", _np_ucb1, {}),
        ("ucb1", functools.partial(_np_ucb1, c=0.5), {"c": 0.5}),
        ("greedy", _np_greedy, {}),
        ("sw_ucb", functools.partial(_np_sw_ucb, window=7, xi=0.6), {"window": 7}),
        ("sw_ucb", functools.partial(_np_sw_ucb, window=int(2 * np.sqrt(60 * np.log(60))), xi=0.6), {}),  # default
        ("d_ucb", functools.partial(_np_d_ucb, discount=0.9, xi=0.6), {"discount": 0.9}),
    ],
)
def test_deterministic_algorithms_match_numpy(name, reference, hparams):
    """Given the same Gaussian reward tables (no ties), actions equal the numpy loop's exactly."""
    means_TxA, rewards_NxTxA = _gaussian_table(seed=len(name) + len(hparams))
    actions_NxT, rewards_NxT = run_bandit(
        name, jax.random.key(0), means_TxA, num_runs=8, rewards=rewards_NxTxA, **hparams
    )
    num_actions = means_TxA.shape[1]
    expected_NxT = _np_index_policy(rewards_NxTxA, lambda t, a, r: reference(t, a, r, num_actions))
    np.testing.assert_array_equal(np.asarray(actions_NxT), expected_NxT)
    np.testing.assert_array_equal(np.asarray(rewards_NxT), _observed(rewards_NxTxA, expected_NxT, 60))


def test_exp3_first_round_uniform_and_regret_matches_numpy():
    """EXP3 starts uniform, and a numpy EXP3 loop gives the same mean regret within noise."""
    num_runs, horizon, gamma = 2000, 100, 0.2
    means_TxA = _instance(4, 0.7, 0.4, horizon)
    actions_NxT, _ = run_bandit("exp3", jax.random.key(2), means_TxA, num_runs=num_runs, gamma=gamma)
    first_A = np.bincount(np.asarray(actions_NxT)[:, 0], minlength=4) / num_runs
    np.testing.assert_allclose(first_A, 0.25, atol=0.04)
    rng = np.random.default_rng(0)
    log_w_NxA = np.zeros((num_runs, 4))
    np_actions_NxT = np.zeros((num_runs, horizon), np.int64)
    runs_N = np.arange(num_runs)
    for t in range(horizon):
        w_NxA = np.exp(log_w_NxA - log_w_NxA.max(1, keepdims=True))
        probs_NxA = (1 - gamma) * w_NxA / w_NxA.sum(1, keepdims=True) + gamma / 4
        a_N = (rng.random((num_runs, 1)) > np.cumsum(probs_NxA, 1)).sum(1).clip(0, 3)
        r_N = rng.random(num_runs) < means_TxA[t, a_N]
        log_w_NxA[runs_N, a_N] += gamma * r_N / probs_NxA[runs_N, a_N] / 4
        np_actions_NxT[:, t] = a_N
    _assert_same_mean(
        _pseudo_regret_NxT(means_TxA, actions_NxT)[:, -1], _pseudo_regret_NxT(means_TxA, np_actions_NxT)[:, -1]
    )


def _assert_same_mean(x_N, y_M, num_se=4.0):
    """Two samples have means within num_se standard errors of their difference."""
    se = np.sqrt(x_N.var() / len(x_N) + y_M.var() / len(y_M))
    assert abs(x_N.mean() - y_M.mean()) < num_se * se + 1e-6, (x_N.mean(), y_M.mean(), se)


def test_thompson_regret_matches_numpy():
    """Beta(1, 1) Thompson sampling has the same mean regret as a numpy loop of it (easy instance, T = 500)."""
    num_runs, horizon = 100, 500
    means_TxA = _instance(4, 0.75, 0.25, horizon)
    actions_NxT, _ = run_bandit("thompson", jax.random.key(3), means_TxA, num_runs=num_runs)
    rng = np.random.default_rng(1)
    counts_NxA, sums_NxA = np.zeros((num_runs, 4)), np.zeros((num_runs, 4))
    np_actions_NxT = np.zeros((num_runs, horizon), np.int64)
    runs_N = np.arange(num_runs)
    for t in range(horizon):
        a_N = np.argmax(rng.beta(1 + sums_NxA, 1 + counts_NxA - sums_NxA), 1)
        counts_NxA[runs_N, a_N] += 1
        sums_NxA[runs_N, a_N] += rng.random(num_runs) < means_TxA[t, a_N]
        np_actions_NxT[:, t] = a_N
    _assert_same_mean(
        _pseudo_regret_NxT(means_TxA, actions_NxT)[:, -1], _pseudo_regret_NxT(means_TxA, np_actions_NxT)[:, -1]
    )


def test_eps_greedy_explores_at_rate_epsilon():
    """After the warm start, a non-greedy arm is chosen in a fraction epsilon * (A - 1) / A of rounds."""
    means_TxA, rewards_NxTxA = _gaussian_table(seed=5, num_runs=200, horizon=100)
    actions_NxT, rewards_NxT = run_bandit(
        "eps_greedy", jax.random.key(4), means_TxA, num_runs=200, rewards=rewards_NxTxA, epsilon=0.3
    )
    actions_NxT = np.asarray(actions_NxT)
    np.testing.assert_array_equal(actions_NxT[:, :4], np.tile(np.arange(4), (200, 1)))
    greedy_NxT = np.stack(
        [np.argmax(_np_greedy(t, actions_NxT[:, :t], np.asarray(rewards_NxT)[:, :t], 4), 1) for t in range(4, 100)], 1
    )
    assert abs(np.mean(actions_NxT[:, 4:] != greedy_NxT) - 0.3 * 3 / 4) < 0.02


@pytest.mark.parametrize("name", ["ucb1", "thompson"])
def test_sublinear_regret_on_easy_instance(name):
    """K = 4, best 0.75, others 0.25, T = 500: the mean regret curve grows with log-log slope < 0.7."""
    means_TxA = _instance(4, 0.75, 0.25, 500)
    actions_NxT, _ = run_bandit(name, jax.random.key(5), means_TxA, num_runs=100)
    regret_T = _pseudo_regret_NxT(means_TxA, actions_NxT).mean(0)
    rounds_T = np.arange(1, 501)
    slope = np.polyfit(np.log(rounds_T[49:]), np.log(regret_T[49:]), 1)[0]
    assert slope < 0.7, slope
    assert regret_T[-1] < 0.5 * 10 * regret_T[49]  # far below linear growth from the first 10%


def test_hard_instance_exploration_matches_krishnamurthy():
    """K = 5, 0.6 vs 0.4, T = 100: Greedy fails often (SuffFailFreq(T/2) ~ 0.45), Thompson rarely."""
    means_TxA = _instance(5, 0.6, 0.4, 100)
    greedy = metrics.exploration_stats(*run_bandit("greedy", jax.random.key(6), means_TxA, num_runs=2000), 0, 5)
    thompson = metrics.exploration_stats(*run_bandit("thompson", jax.random.key(6), means_TxA, num_runs=2000), 0, 5)
    assert 0.35 < greedy["suff_fail_freq_half"] < 0.6
    assert thompson["suff_fail_freq_half"] < 0.03
    assert greedy["greedy_frac"] == 1.0 and 0.5 < thompson["greedy_frac"] < 0.7
    np.testing.assert_allclose(greedy["k_min_frac_end"], 0.05, atol=0.01)
    np.testing.assert_allclose(thompson["k_min_frac_end"], 0.28, atol=0.05)


def _assert_uniform(counts_K, min_p=1e-4):
    """Chi-square goodness of fit to the uniform distribution, at a loose level (fixed seeds)."""
    assert stats.chisquare(counts_K).pvalue > min_p, counts_K


@pytest.mark.parametrize(
    "num_actions, tied", [(5, [1, 3]), (5, list(range(5))), (70, [4, 69]), (70, list(range(70)))]
)  # A = 70: the non-unrolled path
def test_random_argmax_uniform_among_ties(num_actions, tied):
    """Among k tied maxima each arm wins with frequency 1/k (k = 2 and k = A); other arms never win."""
    num_runs = 20000
    key_scores, key_bits = jax.random.split(jax.random.key(10))
    scores_AxN = np.array(jax.random.uniform(key_scores, (num_actions, num_runs), maxval=0.9))
    scores_AxN[tied] = 1.0
    actions_N = np.asarray(
        counter_rng.random_argmax(jax.random.bits(key_bits, (num_runs,), jnp.uint32), jnp.asarray(scores_AxN))
    )
    counts_A = np.bincount(actions_N, minlength=num_actions)
    assert counts_A.sum() == counts_A[tied].sum()
    _assert_uniform(counts_A[tied])


def test_random_argmax_paths_agree(monkeypatch):
    """The arm-unrolled argmax and the reduction fallback pick the same arms (ties included)."""
    key_scores, key_bits = jax.random.split(jax.random.key(11))
    scores_AxN = jnp.round(4.0 * jax.random.uniform(key_scores, (6, 5000)))  # many ties
    bits_N = jax.random.bits(key_bits, (5000,), jnp.uint32)
    unrolled_N = counter_rng.random_argmax(bits_N, scores_AxN)
    monkeypatch.setattr(counter_rng, "MAX_UNROLLED_ARMS", 0)
    np.testing.assert_array_equal(counter_rng.random_argmax(bits_N, scores_AxN), unrolled_N)


@pytest.mark.parametrize("tied", [[0, 2], list(range(4))])
def test_greedy_ties_uniform_every_round(tied):
    """Greedy on a table where the tied arms always pay 1 (k = 2) or all pay 0 (k = A): after the warm start
    each round picks each tied arm with frequency 1/k, over runs and rounds (fresh tie words every round)."""
    num_runs, horizon, num_actions = 500, 44, 4
    table_TxA = np.zeros((horizon, num_actions), np.float32)
    table_TxA[:, tied] = 1.0 if len(tied) < num_actions else 0.0
    actions_NxT, _ = run_bandit("greedy", jax.random.key(12), table_TxA, num_runs=num_runs, rewards=table_TxA)
    later_NxT = np.asarray(actions_NxT)[:, num_actions:]
    counts_A = np.bincount(later_NxT.ravel(), minlength=num_actions)
    assert counts_A.sum() == counts_A[tied].sum()
    _assert_uniform(counts_A[tied])
    _assert_uniform(np.bincount(later_NxT[:, -1], minlength=num_actions)[tied])  # one round alone


def test_threefry_matches_jax_and_known_answer():
    """The fused Threefry-2x32 is the Random123 known-answer vector and equals jax's threefry_2x32."""
    key_2 = jnp.array([0x13198A2E, 0x03707344], jnp.uint32)
    out = counter_rng.threefry2x32(key_2, jnp.uint32(0x243F6A88), jnp.uint32(0x85A308D3))
    assert [int(x) for x in out] == [0xC4923A9C, 0x483DF7A0]
    counts_2xM = np.random.default_rng(0).integers(0, 2**32, (2, 1000), dtype=np.uint32)
    ours = np.concatenate(counter_rng.threefry2x32(key_2, *jnp.asarray(counts_2xM)))
    np.testing.assert_array_equal(ours, threefry_2x32((key_2[0], key_2[1]), jnp.asarray(counts_2xM.ravel())))


class JitTest(chex.TestCase):
    """Jitted and unjitted rollouts agree; repeated calls do not retrace."""

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.parameters("eps_greedy", "exp3")
    def test_jit_matches_no_jit(self, name):
        """The pure rollout gives the same actions and rewards with and without jit."""
        means_TxA = _instance(3, 0.7, 0.5, 20)
        items = bandits.resolve_hparams(name, 20, 3)
        actions_NxT, rewards_NxT = self.variant(bandits.make_bandit_fn(name, 6, items))(jax.random.key(7), means_TxA)
        chex.assert_shape([actions_NxT, rewards_NxT], (6, 20))
        expected = run_bandit(name, jax.random.key(7), means_TxA, num_runs=6)
        np.testing.assert_array_equal(actions_NxT, expected[0])
        np.testing.assert_array_equal(rewards_NxT, expected[1])

    def test_no_retrace(self):
        """Same name, shapes and hparams: one trace and one compiled executable."""
        chex.clear_trace_counter()
        rollout = jax.jit(chex.assert_max_traces(bandits.make_bandit_fn("greedy", 4), n=1))
        means_TxA = _instance(3, 0.7, 0.5, 10)
        for seed in range(3):
            rollout(jax.random.key(seed), means_TxA + 0.01 * seed)
        for seed in range(3):
            run_bandit("d_ucb", jax.random.key(seed), means_TxA, num_runs=4, discount=0.95)
        items = bandits.resolve_hparams("d_ucb", 10, 3, discount=0.95)
        assert bandits.compiled_bandit_fn("d_ucb", 4, items)._cache_size() == 1


@pytest.mark.parametrize(
    "name, hparams", [("thompson", {"prior": "gaussian"}), ("eps_greedy", {}), ("exp3", {}), ("greedy", {})]
)
def test_rewards_come_from_the_table(name, hparams):
    """With rewards=, each reward is the table entry of the chosen arm, for (N, T, A) and (T, A) tables."""
    means_TxA, rewards_NxTxA = _gaussian_table(seed=9, num_runs=3, horizon=12, num_actions=3)
    rewards_NxTxA = 3.0 * rewards_NxTxA  # unbounded rewards are fine for these
    for table in (rewards_NxTxA, rewards_NxTxA[0]) if name == "greedy" else (rewards_NxTxA,):
        actions_NxT, rewards_NxT = run_bandit(name, jax.random.key(8), means_TxA, num_runs=3, rewards=table, **hparams)
        chex.assert_type([actions_NxT, rewards_NxT], [jnp.int32, jnp.float32])
        chex.assert_tree_all_finite(rewards_NxT)
        full_NxTxA = np.broadcast_to(table, rewards_NxTxA.shape)
        np.testing.assert_array_equal(rewards_NxT, _observed(full_NxTxA, np.asarray(actions_NxT), 12))


def test_bernoulli_rewards_follow_per_round_means():
    """Non-stationary means: every arm pays 1 in even rounds and 0 in odd ones, whatever is chosen."""
    means_TxA = np.zeros((20, 3), np.float32)
    means_TxA[::2] = 1.0
    _, rewards_NxT = run_bandit("eps_greedy", jax.random.key(9), means_TxA, num_runs=6)
    np.testing.assert_array_equal(rewards_NxT, np.tile(means_TxA[:, 0], (6, 1)))


GOOD = _instance(3, 0.7, 0.5, 10)


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (("ucb2", GOOD), {}, "choose one of 'ucb1'"),
        (("ucb1", GOOD[0]), {}, r"shape \(T, A\)"),
        (("ucb1", GOOD[:1]), {}, "horizon T"),
        (("ucb1", GOOD[:, :1]), {}, "number of arms A"),
        (("ucb1", GOOD), {"num_runs": 0}, "num_runs"),
        (("ucb1", GOOD + 0.5), {}, r"means .* \[0.0, 1.0\]"),
        (("ucb1", GOOD), {"rewards": np.zeros((10, 4))}, "rewards must have shape"),
        (("eps_greedy", GOOD), {"epsilon": -0.1}, "epsilon"),
        (("sw_ucb", GOOD), {"window": 0}, "window must be an integer >= 1"),
        (("d_ucb", GOOD), {"discount": 1.5}, r"discount must lie in \(0, 1\]"),
        (("exp3", GOOD), {"gamma": 0.0}, r"gamma must lie in \(0, 1\]"),
        (("thompson", GOOD), {"prior": "cauchy"}, "choose one of 'beta', 'gaussian'"),
        (("thompson", GOOD), {"rewards": GOOD + 2.0}, "prior='gaussian'"),
        (("greedy", GOOD), {"epsilon": 0.1}, "unknown hyperparameter"),
    ],
)
def test_bad_input_raises(args, kwargs, match):
    """Bad input raises ValueError saying what to fix, before compiling."""
    with pytest.raises(ValueError, match=match):
        run_bandit(args[0], jax.random.key(0), *args[1:], **kwargs)
