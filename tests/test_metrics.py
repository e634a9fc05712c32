"""Exploration diagnostics against numpy references and known policies."""

import jax
import numpy as np
import pytest

from rmft_jax import metrics
from rmft_jax.baselines.bandits import run_bandit

NUM_RUNS, HORIZON, NUM_ACTIONS = 40, 30, 4


def _random_data(seed):
    """Random actions (N, T), Bernoulli rewards (N, T) and per-run best arms (N,)."""
    rng = np.random.default_rng(seed)
    # Skewed action probabilities so some runs never play some arms.
    actions_NxT = rng.choice(NUM_ACTIONS, size=(NUM_RUNS, HORIZON), p=[0.55, 0.3, 0.1, 0.05]).astype(np.int32)
    rewards_NxT = (rng.random((NUM_RUNS, HORIZON)) < 0.5).astype(np.float32)
    return actions_NxT, rewards_NxT, rng.integers(0, NUM_ACTIONS, NUM_RUNS)


def _np_greedy_frac(actions_NxT, rewards_NxT, num_actions, t):
    """Numpy loop: fraction of rounds < t whose arm had the top mean so far (untried arms = +inf)."""
    num_runs = actions_NxT.shape[0]
    counts_NxA, sums_NxA = np.zeros((num_runs, num_actions)), np.zeros((num_runs, num_actions))
    greedy = []
    for s in range(t):
        with np.errstate(divide="ignore", invalid="ignore"):
            means_NxA = np.where(counts_NxA > 0, sums_NxA / counts_NxA, np.inf)
        a_N = actions_NxT[:, s]
        greedy.append(means_NxA[np.arange(num_runs), a_N] >= means_NxA.max(1))
        counts_NxA[np.arange(num_runs), a_N] += 1
        sums_NxA[np.arange(num_runs), a_N] += rewards_NxT[:, s]
    return np.mean(greedy)


@pytest.mark.parametrize("t", [0, 7, HORIZON // 2, HORIZON - 1])
def test_suff_fail_freq_matches_numpy(t):
    """Best arm never chosen in rounds t..T-1, for per-run and shared best arms."""
    actions_NxT, _, best_N = _random_data(seed=t)
    expected = np.mean([best_N[n] not in actions_NxT[n, t:] for n in range(NUM_RUNS)])
    np.testing.assert_allclose(metrics.suff_fail_freq(actions_NxT, best_N, t), expected, atol=1e-6)
    expected_shared = np.mean([3 not in actions_NxT[n, t:] for n in range(NUM_RUNS)])
    np.testing.assert_allclose(metrics.suff_fail_freq(actions_NxT, 3, t), expected_shared, atol=1e-6)


@pytest.mark.parametrize("t", [1, 10, HORIZON])
def test_k_min_frac_matches_numpy(t):
    """K * min_a fraction of the first t rounds on arm a, averaged over runs."""
    actions_NxT, _, _ = _random_data(seed=t)
    counts_NxA = np.stack([(actions_NxT[:, :t] == a).sum(1) for a in range(NUM_ACTIONS)], 1)
    expected = np.mean(NUM_ACTIONS * counts_NxA.min(1) / t)
    np.testing.assert_allclose(metrics.k_min_frac(actions_NxT, NUM_ACTIONS, t), expected, atol=1e-6)


@pytest.mark.parametrize("t", [None, 5])
def test_greedy_frac_matches_numpy(t):
    """Greedy indicator with untried arms as +inf, over the first t rounds."""
    actions_NxT, rewards_NxT, _ = _random_data(seed=11)
    expected = _np_greedy_frac(actions_NxT, rewards_NxT, NUM_ACTIONS, HORIZON if t is None else t)
    np.testing.assert_allclose(metrics.greedy_frac(actions_NxT, rewards_NxT, NUM_ACTIONS, t), expected, atol=1e-6)


def test_known_policies():
    """Always-best: SuffFailFreq 0; never-best: 1; round-robin: K * MinFrac 1; Greedy: GreedyFrac 1."""
    always_NxT = np.full((5, 20), 2, np.int32)
    assert metrics.suff_fail_freq(always_NxT, 2, 10) == 0.0
    assert metrics.suff_fail_freq(always_NxT, 1, 0) == 1.0
    round_robin_NxT = np.tile(np.arange(20, dtype=np.int32) % 4, (5, 1))
    np.testing.assert_allclose(metrics.k_min_frac(round_robin_NxT, 4, 20), 1.0)
    np.testing.assert_allclose(metrics.k_min_frac(round_robin_NxT, 4, 8), 1.0)
    np.testing.assert_allclose(metrics.k_min_frac(always_NxT, 4, 20), 0.0)
    means_TxA = np.full((40, 4), 0.5, np.float32)  # equal means: many ties, broken at random
    actions_NxT, rewards_NxT = run_bandit("greedy", jax.random.key(0), means_TxA, num_runs=16)
    assert metrics.greedy_frac(actions_NxT, rewards_NxT, 4) == 1.0


def test_exploration_stats_keys_and_values():
    """The summary dict equals the individual metrics at T/2 and T."""
    actions_NxT, rewards_NxT, best_N = _random_data(seed=3)
    stats = metrics.exploration_stats(actions_NxT, rewards_NxT, best_N, NUM_ACTIONS)
    expected = {
        "suff_fail_freq_half": metrics.suff_fail_freq(actions_NxT, best_N, HORIZON // 2),
        "suff_fail_freq_end": metrics.suff_fail_freq(actions_NxT, best_N, HORIZON - 1),
        "k_min_frac_half": metrics.k_min_frac(actions_NxT, NUM_ACTIONS, HORIZON // 2),
        "k_min_frac_end": metrics.k_min_frac(actions_NxT, NUM_ACTIONS, HORIZON),
        "greedy_frac": metrics.greedy_frac(actions_NxT, rewards_NxT, NUM_ACTIONS),
    }
    assert set(stats) == set(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(stats[key], value, err_msg=key)


ACTIONS = np.zeros((3, 10), np.int32)


@pytest.mark.parametrize(
    "fn, args, match",
    [
        (metrics.suff_fail_freq, (ACTIONS[0], 0, 5), r"shape \(N, T\)"),
        (metrics.suff_fail_freq, (ACTIONS.astype(float), 0, 5), "integer arm indices"),
        (metrics.suff_fail_freq, (ACTIONS, 0, 10), r"t .* \[0, 9\]"),
        (metrics.suff_fail_freq, (ACTIONS, np.zeros(4, int), 5), r"best_arm .* \(N,\)"),
        (metrics.k_min_frac, (ACTIONS, 4, 0), r"t .* \[1, 10\]"),
        (metrics.k_min_frac, (ACTIONS, 1, 5), "num_actions must be an integer >= 2"),
        (metrics.k_min_frac, (ACTIONS + 4, 4, 5), r"actions \(arm indices\) must lie in \[0, 3\]"),
        (metrics.greedy_frac, (ACTIONS, np.zeros((3, 9)), 4), "same shape"),
        (metrics.greedy_frac, (ACTIONS, np.zeros((3, 10)), 4, 11), r"t .* \[1, 10\]"),
    ],
)
def test_bad_input_raises(fn, args, match):
    """Bad input raises ValueError saying what to fix."""
    with pytest.raises(ValueError, match=match):
        fn(*args)
