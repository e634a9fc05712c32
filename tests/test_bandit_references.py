"""Classical bandit references and change-point oracles against float64 numpy loops written from the papers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import optimize, special

from rmft_jax.baselines import bandit_references as refs
from rmft_jax.baselines import bandits
from rmft_jax.baselines.bandits import run_bandit

TS_RUNS, TS_HORIZON = 2000, 120  # one shape for the Thompson-family rollouts: Beta sampling compiles slowly
NAMES = ("kl_ucb", "moss", "tsallis_inf", "discounted_thompson", "ucb1_restart", "thompson_restart")


def _beta_table(seed, num_runs=8, horizon=80, num_actions=4):
    """Continuous rewards in (0, 1) (no ties in the statistics) with arm means in [0.3, 0.7]: means (T, A), table."""
    rng = np.random.default_rng(seed)
    means_A = rng.uniform(0.3, 0.7, num_actions)
    rewards_NxTxA = rng.beta(4 * means_A, 4 * (1 - means_A), (num_runs, horizon, num_actions))
    return np.broadcast_to(means_A, (horizon, num_actions)).astype(np.float32), rewards_NxTxA.astype(np.float32)


def _observed(rewards_NxTxA, actions_NxT):
    """The rewards of the chosen arms: (N, T)."""
    return np.take_along_axis(np.asarray(rewards_NxTxA, np.float64), np.asarray(actions_NxT)[..., None], 2)[..., 0]


def _np_index_policy(rewards_NxTxA, index_fn, starts=()):
    """Reference loop: untried arms of the segment first (lowest index), then argmax index_fn(t, counts, sums).

    Statistics reset at the rounds in `starts` (empty: one pull per arm in order, then the index policy)."""
    num_runs, horizon, num_actions = rewards_NxTxA.shape
    runs_N = np.arange(num_runs)
    counts_NxA, sums_NxA = np.zeros((num_runs, num_actions)), np.zeros((num_runs, num_actions))
    actions_NxT = np.zeros((num_runs, horizon), np.int64)
    for t in range(horizon):
        if t in starts:
            counts_NxA, sums_NxA = np.zeros_like(counts_NxA), np.zeros_like(sums_NxA)
        untried_NxA = counts_NxA == 0
        if untried_NxA.any(1).all():
            a_N = np.argmax(untried_NxA, 1)
        else:
            assert not untried_NxA.any()  # runs share the restart rounds: they leave the untried phase together
            a_N = np.argmax(index_fn(t, counts_NxA, sums_NxA), 1)
        actions_NxT[:, t] = a_N
        counts_NxA[runs_N, a_N] += 1
        sums_NxA[runs_N, a_N] += rewards_NxTxA[runs_N, t, a_N]
    return actions_NxT


def _np_kl(p, q):
    """Bernoulli kl(p, q) in float64 with 0 log 0 = 0."""
    return special.xlogy(p, p / q) + special.xlogy(1 - p, (1 - p) / (1 - q))


def _np_kl_ucb(t, counts_NxA, sums_NxA, c=3.0):
    """Garivier & Cappe: max{q >= mean : n kl(mean, q) <= ln t + c ln ln t}, by Brent's method."""
    level = np.log(t) + c * np.log(max(np.log(t), 1.0))
    index = np.ones_like(counts_NxA)
    for i, (mean, n) in enumerate(zip((sums_NxA / counts_NxA).ravel(), counts_NxA.ravel(), strict=True)):

        def gap(q, mean=mean, n=n):
            return n * _np_kl(mean, q) - level

        if gap(1 - 1e-15) > 0:
            index.flat[i] = optimize.brentq(gap, mean, 1 - 1e-15, xtol=1e-14)
    return index


def _np_moss(t, counts_NxA, sums_NxA, horizon):
    """Audibert & Bubeck: mean + sqrt(max(ln(T / (A n)), 0) / n)."""
    log_term = np.maximum(np.log(horizon / (counts_NxA.shape[1] * counts_NxA)), 0.0)
    return sums_NxA / counts_NxA + np.sqrt(log_term / counts_NxA)


def _np_ucb1(t, counts_NxA, sums_NxA, c=2.0):
    """UCB1 with the log of the pulls since the last restart."""
    return sums_NxA / counts_NxA + np.sqrt(c * np.log(counts_NxA.sum(1, keepdims=True)) / counts_NxA)


@pytest.mark.parametrize(
    "name, reference, hparams",
    [
        ("kl_ucb", _np_kl_ucb, {}),
        ("kl_ucb", lambda t, n, s: _np_kl_ucb(t, n, s, c=0.0), {"c": 0.0}),
        ("moss", lambda t, n, s: _np_moss(t, n, s, horizon=80), {}),
        ("moss", lambda t, n, s: _np_moss(t, n, s, horizon=1000), {"horizon": 1000}),
        ("ucb1_restart", _np_ucb1, {}),  # stationary: no restart
    ],
)
def test_index_policies_match_numpy(name, reference, hparams):
    """On reward tables without ties, the actions equal the float64 numpy loop's exactly."""
    means_TxA, rewards_NxTxA = _beta_table(seed=len(name) + len(hparams))
    actions_NxT, rewards_NxT = run_bandit(
        name, jax.random.key(0), means_TxA, num_runs=8, rewards=rewards_NxTxA, **hparams
    )
    expected_NxT = _np_index_policy(rewards_NxTxA.astype(np.float64), reference)
    np.testing.assert_array_equal(np.asarray(actions_NxT), expected_NxT)
    np.testing.assert_allclose(np.asarray(rewards_NxT), _observed(rewards_NxTxA, expected_NxT), rtol=1e-6)


def test_kl_ucb_index_solves_the_kl_constraint():
    """index >= mean, index <= 1, and n kl(mean, index) = f(t) wherever index < 1; f(2) = ln 2 (ln ln t as 0)."""
    rng = np.random.default_rng(1)
    counts_AxN = rng.integers(1, 500, (5, 400)).astype(np.float32)
    sums_AxN = (rng.uniform(0.0, 1.0, (5, 400)) * counts_AxN).astype(np.float32)
    for t, c in ((2, 3.0), (50, 3.0), (5000, 3.0), (5000, 0.0)):
        index_AxN = np.asarray(
            refs.kl_ucb_index(jnp.asarray(sums_AxN), jnp.asarray(counts_AxN), jnp.int32(t), c), np.float64
        )
        means_AxN = sums_AxN.astype(np.float64) / counts_AxN
        level = np.log(t) + c * np.log(max(np.log(t), 1.0))
        np.testing.assert_allclose(float(refs.kl_ucb_level(jnp.int32(t), c)), level, rtol=1e-6)
        assert np.all(index_AxN >= means_AxN - 1e-6) and np.all(index_AxN <= 1.0)
        inner = index_AxN < 1 - 1e-4
        assert inner.mean() > 0.5
        np.testing.assert_allclose(counts_AxN[inner] * _np_kl(means_AxN[inner], index_AxN[inner]), level, rtol=2e-3)
    untried = refs.kl_ucb_index(jnp.zeros((2, 1)), jnp.array([[0.0], [3.0]]), jnp.int32(5))
    assert np.isinf(untried[0, 0]) and np.isfinite(untried[1, 0])


def test_moss_index_equals_formula():
    """MOSS index = mean + sqrt(max(ln(T / (A n)), 0) / n); untried arms +inf; no bonus once n >= T / A."""
    counts_AxN = np.array([[0.0, 1.0, 10.0, 25.0, 40.0]] * 4, np.float32)
    sums_AxN = 0.4 * counts_AxN
    index_AxN = np.asarray(refs.moss_index(jnp.asarray(sums_AxN), jnp.asarray(counts_AxN), 100))
    with np.errstate(divide="ignore", invalid="ignore"):
        expected_AxN = 0.4 + np.sqrt(np.maximum(np.log(100 / (4 * counts_AxN)), 0) / counts_AxN)
    assert np.all(np.isinf(index_AxN[:, 0]))
    np.testing.assert_allclose(index_AxN[:, 1:], expected_AxN[:, 1:], rtol=1e-6)
    np.testing.assert_allclose(index_AxN[:, 3:], 0.4, rtol=1e-6)  # n >= T / A = 25


def _np_tsallis_weights(losses_NxA, eta):
    """Float64 solve of sum_i 4 (eta (L_i - x))^-2 = 1 for x < min L by bisection (independent of Newton)."""
    low_N = losses_NxA.min(1) - 2 * np.sqrt(losses_NxA.shape[1]) / eta  # sum <= 1 here
    high_N = losses_NxA.min(1) - 2 / eta  # sum >= 1 here (the best arm alone has weight 1)
    for _ in range(200):
        mid_N = 0.5 * (low_N + high_N)
        too_big = (4 / (eta * (losses_NxA - mid_N[:, None])) ** 2).sum(1) > 1
        low_N, high_N = np.where(too_big, low_N, mid_N), np.where(too_big, mid_N, high_N)
    return 4 / (eta * (losses_NxA - low_N[:, None])) ** 2


@pytest.mark.parametrize("num_actions", [2, 5, 100])
def test_tsallis_weights_match_float64_solve(num_actions):
    """Newton weights equal a float64 bisection solve; they are positive, sum to 1, and decrease with the loss."""
    rng = np.random.default_rng(num_actions)
    for spread, eta in ((0.0, 1.0), (1.0, 4.0), (50.0, 0.1), (2000.0, 0.02), (3.0, 0.005)):
        losses_NxA = spread * rng.uniform(0, 1, (64, num_actions)) * rng.uniform(0, 1, (64, 1))
        weights_NxA = np.asarray(refs.tsallis_weights(jnp.asarray(losses_NxA.T, jnp.float32), jnp.float32(eta))).T
        np.testing.assert_allclose(weights_NxA, _np_tsallis_weights(losses_NxA, eta), rtol=2e-4, atol=1e-7)
        assert np.all(weights_NxA > 0)
        np.testing.assert_allclose(weights_NxA.sum(1), 1.0, rtol=1e-5)
        lower_NxAxA = losses_NxA[:, :, None] < losses_NxA[:, None, :] - 1e-3
        heavier_NxAxA = weights_NxA[:, :, None] >= weights_NxA[:, None, :]
        assert np.all(heavier_NxAxA[lower_NxAxA])


def _np_tsallis_history(actions_NxT, rewards_NxT, num_actions, estimator):
    """Float64 Tsallis-INF from the paper: the weights of every round given the history -> (N, T, A)."""
    scale = {"reduced_variance": 4.0, "importance_weighted": 2.0}[estimator]
    num_runs, horizon = actions_NxT.shape
    runs_N = np.arange(num_runs)
    losses_NxA = np.zeros((num_runs, num_actions))
    weights_NxTxA = np.zeros((num_runs, horizon, num_actions))
    for t in range(horizon):
        eta = scale / np.sqrt(t + 1)  # the paper's round t + 1
        w_NxA = _np_tsallis_weights(losses_NxA, eta)
        w_NxA /= w_NxA.sum(1, keepdims=True)
        weights_NxTxA[:, t] = w_NxA
        a_N, loss_N = actions_NxT[:, t], 1.0 - rewards_NxT[:, t]
        b_NxA = 0.5 * (w_NxA >= eta**2) if estimator == "reduced_variance" else np.zeros_like(w_NxA)
        estimate_NxA = b_NxA.copy()
        estimate_NxA[runs_N, a_N] += (loss_N - b_NxA[runs_N, a_N]) / w_NxA[runs_N, a_N]
        losses_NxA += estimate_NxA
    return weights_NxTxA


def _assert_sampled_from(hits_NxTxA, probs_NxTxA):
    """The choices follow the predicted probabilities: per arm, sum(hit - p) is a martingale (|z| < 4), and
    within bins of p the hit frequency matches the mean p (calibration)."""
    z_A = (hits_NxTxA - probs_NxTxA).sum((0, 1)) / np.sqrt((probs_NxTxA * (1 - probs_NxTxA)).sum((0, 1)))
    assert np.all(np.abs(z_A) < 4), z_A
    probs, hits = probs_NxTxA.ravel(), hits_NxTxA.ravel()
    for low, high in ((0.0, 0.1), (0.1, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.01)):
        inside = (probs >= low) & (probs < high)
        if inside.sum() > 300:
            se = np.sqrt((probs[inside] * (1 - probs[inside])).sum()) / inside.sum()
            assert abs(hits[inside].mean() - probs[inside].mean()) < 4 * se + 2e-3, (low, high)


@pytest.mark.parametrize("estimator", ["reduced_variance", "importance_weighted"])
def test_tsallis_inf_weights_and_sampling_match_numpy(estimator):
    """The jax state's weights equal the numpy loop's on the same history, and the rollout samples from them."""
    num_runs, horizon, num_actions = 300, 100, 3
    means_TxA, rewards_NxTxA = _beta_table(seed=7, num_runs=num_runs, horizon=horizon, num_actions=num_actions)
    actions_NxT, rewards_NxT = map(
        np.asarray,
        run_bandit(
            "tsallis_inf", jax.random.key(1), means_TxA, num_runs=num_runs, rewards=rewards_NxTxA, estimator=estimator
        ),
    )
    expected_NxTxA = _np_tsallis_history(actions_NxT, rewards_NxT.astype(np.float64), num_actions, estimator)
    algorithm, hp = bandits.ALGORITHMS["tsallis_inf"], {"estimator": estimator}
    update = jax.jit(lambda state, t, a, r: algorithm.update(state, t, a, r, hp))
    state = algorithm.init(num_runs, num_actions, hp)
    for t in range(0, horizon, 1):
        if t % 11 == 0:  # spot checks keep the test fast
            np.testing.assert_allclose(np.asarray(state["probs"]).T, expected_NxTxA[:, t], rtol=2e-3, atol=1e-5)
        state = update(state, jnp.int32(t), jnp.asarray(actions_NxT[:, t]), jnp.asarray(rewards_NxT[:, t]))
    _assert_sampled_from(np.eye(num_actions)[actions_NxT], expected_NxTxA)


def _np_discounted_counts(actions_NxT, rewards_NxT, num_actions, discount):
    """S_t, F_t before round t: sums of discount^(t-1-s) r_s (resp. 1 - r_s) over the arm's pulls -> (N, T, A)."""
    num_runs, horizon = actions_NxT.shape
    chosen_NxTxA = np.eye(num_actions)[actions_NxT]
    successes, failures = np.zeros((num_runs, horizon, num_actions)), np.zeros((num_runs, horizon, num_actions))
    for t in range(horizon):
        weights_S = discount ** np.arange(t - 1, -1, -1.0)
        successes[:, t] = np.einsum("s,nsa,ns->na", weights_S, chosen_NxTxA[:, :t], rewards_NxT[:, :t])
        failures[:, t] = np.einsum("s,nsa,ns->na", weights_S, chosen_NxTxA[:, :t], 1 - rewards_NxT[:, :t])
    return successes, failures


def test_discounted_thompson_counts_and_sampling():
    """Discounted counts equal numpy's; each round's choice follows its Beta(1 + S, 1 + F) posteriors (A = 2)."""
    num_runs, horizon, discount = 200, 60, 0.9
    means_TxA = np.tile(np.float32([0.6, 0.4]), (horizon, 1))
    means_TxA[30:] = means_TxA[30:, ::-1]  # the best arm changes at t = 30
    actions_NxT, rewards_NxT = map(
        np.asarray,
        run_bandit("discounted_thompson", jax.random.key(2), means_TxA, num_runs=num_runs, discount=discount),
    )
    successes, failures = _np_discounted_counts(actions_NxT, rewards_NxT.astype(np.float64), 2, discount)
    algorithm, hp = bandits.ALGORITHMS["discounted_thompson"], {"discount": discount}
    update = jax.jit(lambda state, t, a, r: algorithm.update(state, t, a, r, hp))
    state = algorithm.init(num_runs, 2, hp)
    for t in range(horizon):
        np.testing.assert_allclose(np.asarray(state["successes"]).T, successes[:, t], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(np.asarray(state["failures"]).T, failures[:, t], rtol=1e-5, atol=1e-5)
        state = update(state, jnp.int32(t), jnp.asarray(actions_NxT[:, t]), jnp.asarray(rewards_NxT[:, t]))
    # P(arm 0 wins) per run and round by Monte Carlo from the numpy posteriors (its noise is negligible here).
    draws_NxTxAxS = np.random.default_rng(3).beta(
        1 + successes[..., None], 1 + failures[..., None], successes.shape + (400,)
    )
    p0_NxT = (draws_NxTxAxS[:, :, 0] > draws_NxTxAxS[:, :, 1]).mean(-1)
    _assert_sampled_from(np.eye(2)[actions_NxT], np.stack([p0_NxT, 1 - p0_NxT], -1))
    late = slice(40, 60)  # after the change the discounted posterior follows the new best arm (arm 1)
    assert (actions_NxT[:, late] == 1).mean() > 0.6


def test_discounted_thompson_without_discount_is_thompson():
    """discount = 1 with Bernoulli rewards is Beta(1, 1) Thompson sampling, draw for draw (same key stream)."""
    means_TxA = np.tile(np.float32([0.6, 0.5]), (TS_HORIZON, 1))
    ours = run_bandit("discounted_thompson", jax.random.key(3), means_TxA, num_runs=TS_RUNS, discount=1.0)
    expected = run_bandit("thompson", jax.random.key(3), means_TxA, num_runs=TS_RUNS)
    np.testing.assert_array_equal(ours[0], expected[0])


def test_ucb1_restart_resets_at_the_true_change_points():
    """Restarts exactly where the means change: equals the numpy loop with resets, and after the change a
    fresh UCB1 run on the second segment's table; on a stationary instance it is UCB1."""
    _, rewards_NxTxA = _beta_table(seed=4, num_runs=8, horizon=90)
    means_TxA = np.tile(np.float32([0.5, 0.4, 0.3, 0.2]), (90, 1))
    means_TxA[30:, 0], means_TxA[55:, 1] = 0.1, 0.9  # change points 30 and 55
    actions_NxT, _ = run_bandit("ucb1_restart", jax.random.key(5), means_TxA, num_runs=8, rewards=rewards_NxTxA)
    expected_NxT = _np_index_policy(rewards_NxTxA.astype(np.float64), _np_ucb1, starts=(30, 55))
    np.testing.assert_array_equal(np.asarray(actions_NxT), expected_NxT)
    fresh_NxT, _ = run_bandit("ucb1", jax.random.key(5), means_TxA[55:], num_runs=8, rewards=rewards_NxTxA[:, 55:])
    np.testing.assert_array_equal(np.asarray(actions_NxT)[:, 55:], np.asarray(fresh_NxT))
    stationary = np.tile(np.float32([0.5, 0.4, 0.3, 0.2]), (90, 1))
    np.testing.assert_array_equal(
        run_bandit("ucb1_restart", jax.random.key(5), stationary, num_runs=8, rewards=rewards_NxTxA)[0],
        run_bandit("ucb1", jax.random.key(5), stationary, num_runs=8, rewards=rewards_NxTxA)[0],
    )


def test_restart_flag_resets_state_exactly_at_changes(monkeypatch):
    """A probe algorithm that plays its round count since init shows every reset, and only those."""
    probe = bandits.Algorithm(
        init=lambda n, a, hp: {"rounds": jnp.zeros((1, n), jnp.int32)},
        select=lambda state, t, draws, hp: state["rounds"][0],
        update=lambda state, t, a, r, hp: {"rounds": state["rounds"] + 1},
        restarts=True,
    )
    monkeypatch.setitem(bandits.ALGORITHMS, "restart_probe", probe)
    horizon, changes = 40, (1, 7, 8, 20)
    means_TxA = np.zeros((horizon, horizon), np.float32)
    for c in changes:
        means_TxA[c:, c % horizon] += 0.01
    actions_NxT, _ = run_bandit("restart_probe", jax.random.key(0), means_TxA, num_runs=3)
    last_start_T = np.maximum.accumulate(np.where(np.isin(np.arange(horizon), (0,) + changes), np.arange(horizon), 0))
    np.testing.assert_array_equal(np.asarray(actions_NxT), np.tile(np.arange(horizon) - last_start_T, (3, 1)))


def test_thompson_restart_is_thompson_then_forgets_at_the_change():
    """Stationary: Thompson draw for draw. After a swap of the arms it is a fresh Beta(1, 1) Thompson run: arm 1
    with frequency 1/2 in the first round after the change, and a new-run frequency curve after it."""
    change = TS_HORIZON - 20
    before_TxA = np.tile(np.float32([0.9, 0.1]), (TS_HORIZON, 1))
    after_TxA = np.ascontiguousarray(before_TxA[:, ::-1])
    np.testing.assert_array_equal(
        run_bandit("thompson_restart", jax.random.key(3), before_TxA, num_runs=TS_RUNS)[0],
        run_bandit("thompson", jax.random.key(3), before_TxA, num_runs=TS_RUNS)[0],
    )
    means_TxA = np.concatenate([before_TxA[:change], after_TxA[change:]])
    actions_NxT = np.asarray(run_bandit("thompson_restart", jax.random.key(6), means_TxA, num_runs=TS_RUNS)[0])
    fresh_NxT = np.asarray(run_bandit("thompson", jax.random.key(7), after_TxA, num_runs=TS_RUNS)[0])
    after_T = (actions_NxT[:, change:] == 1).mean(0)
    fresh_T = (fresh_NxT[:, : TS_HORIZON - change] == 1).mean(0)
    assert abs(after_T[0] - 0.5) < 4 * np.sqrt(0.25 / TS_RUNS)
    np.testing.assert_allclose(after_T, fresh_T, atol=4 * np.sqrt(0.5 / TS_RUNS))
    assert (actions_NxT[:, change - 10 : change] == 0).mean() > 0.9  # it had locked onto arm 0


@pytest.mark.parametrize("name", ["kl_ucb", "moss", "tsallis_inf"])
def test_regret_far_below_linear(name):
    """Means (0.7, 0.3), T = 2000: mean pseudo-regret far below T gap / 2 = 400, and the second half adds less."""
    horizon = 2000
    means_TxA = np.tile(np.float32([0.7, 0.3]), (horizon, 1))
    actions_NxT, _ = run_bandit(name, jax.random.key(8), means_TxA, num_runs=50)
    regret_NxT = 0.4 * np.cumsum(np.asarray(actions_NxT) == 1, axis=1)
    assert regret_NxT[:, -1].mean() < 40, regret_NxT[:, -1].mean()
    assert (regret_NxT[:, -1] - regret_NxT[:, horizon // 2 - 1]).mean() < regret_NxT[:, horizon // 2 - 1].mean()


def test_registered_with_defaults():
    """All six are in the registry with their defaults, and a duplicate name is refused."""
    assert set(NAMES) <= set(bandits.ALGORITHMS)
    assert dict(bandits.resolve_hparams("moss", 300, 3)) == {"horizon": 300}
    assert dict(bandits.resolve_hparams("moss", 300, 3, horizon=500.0)) == {"horizon": 500}
    assert dict(bandits.resolve_hparams("kl_ucb", 300, 3)) == {"c": 3.0}
    assert dict(bandits.resolve_hparams("tsallis_inf", 300, 3)) == {"estimator": "reduced_variance"}
    np.testing.assert_allclose(dict(bandits.resolve_hparams("discounted_thompson", 400, 3))["discount"], 1 - 1 / 80)
    assert bandits.ALGORITHMS["ucb1_restart"].restarts and bandits.ALGORITHMS["thompson_restart"].restarts
    assert not any(bandits.ALGORITHMS[name].restarts for name in NAMES[:4])
    before = dict(bandits.ALGORITHMS)
    with pytest.raises(ValueError, match="already registered"):
        bandits.register({"fresh_name": bandits.ALGORITHMS["moss"], "kl_ucb": bandits.ALGORITHMS["moss"]})
    assert bandits.ALGORITHMS == before


GOOD = np.tile(np.float32([0.7, 0.5, 0.4]), (10, 1))


@pytest.mark.parametrize(
    "name, kwargs, match",
    [
        ("moss", {"horizon": 0}, "horizon must be an integer >= 1"),
        ("tsallis_inf", {"estimator": "iw"}, "choose one of 'reduced_variance', 'importance_weighted'"),
        ("discounted_thompson", {"discount": 0.0}, r"discount must lie in \(0, 1\]"),
        ("kl_ucb", {"c": -1.0}, "c must be non-negative"),
        ("kl_ucb", {"rewards": GOOD + 1.0}, r"rewards \(for kl_ucb"),
        ("discounted_thompson", {"rewards": GOOD - 1.0}, r"rewards \(for discounted_thompson"),
        ("thompson_restart", {"rewards": GOOD * 2.0}, r"rewards \(for thompson_restart"),
        ("thompson_restart", {"prior": "beta"}, "unknown hyperparameter"),
    ],
)
def test_bad_input_raises(name, kwargs, match):
    """Bad hyperparameters and out-of-range reward tables raise ValueError before compiling."""
    with pytest.raises(ValueError, match=match):
        run_bandit(name, jax.random.key(0), GOOD, **kwargs)
