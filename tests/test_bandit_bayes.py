"""Bayes references of the bandit training priors: the gap posterior against numpy enumeration, exact dynamic
programming on small instances, and the abrupt particle filter against importance sampling from the env."""

import itertools
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rmft_jax import regret
from rmft_jax.baselines import bandit_bayes, bandits, nsmab_bayes, run_bandit
from rmft_jax.envs.bandit import GapMAB
from rmft_jax.envs.common import sample_batch
from rmft_jax.envs.nonstationary import AbruptNSMAB

GAP_NAMES = ("gap_bayes_greedy", "gap_bayes_thompson", "gap_bayes_kg")
ABRUPT_NAMES = ("abrupt_bayes_greedy", "abrupt_bayes_thompson", "abrupt_bayes_kg")


def _np_posterior(succ_SxA, fail_SxA, gaps_G):
    """float64 enumeration over (best arm j, grid gap g): posterior post_SxJxG and the mean vectors mu_JxGxA."""
    num_actions = succ_SxA.shape[1]
    is_best_JxA = np.eye(num_actions, dtype=bool)
    mu_JxGxA = np.where(is_best_JxA[:, None], 0.5 + gaps_G[None, :, None] / 2, 0.5 - gaps_G[None, :, None] / 2)
    loglik_SxJxG = np.einsum("sa,jga->sjg", succ_SxA, np.log(mu_JxGxA)) + np.einsum(
        "sa,jga->sjg", fail_SxA, np.log1p(-mu_JxGxA)
    )
    post_SxJxG = np.exp(loglik_SxJxG - loglik_SxJxG.max(axis=(1, 2), keepdims=True))
    return post_SxJxG / post_SxJxG.sum(axis=(1, 2), keepdims=True), mu_JxGxA


def _np_kg(post_SxJxG, mu_JxGxA):
    """KG_a by Bayes' rule on each Bernoulli outcome of arm a (no moment shortcut) -> (S, A)."""
    means_SxA = np.einsum("sjg,jga->sa", post_SxJxG, mu_JxGxA)
    kg = []
    for a in range(mu_JxGxA.shape[2]):
        value_S = 0.0
        for lik_JxG in (mu_JxGxA[..., a], 1.0 - mu_JxGxA[..., a]):
            joint_SxJxG = post_SxJxG * lik_JxG
            # P(r) * max_b E[mu_b | r] = max_b sum_{j,g} p(j, g) P(r | j, g) mu_b(j, g)
            value_S = value_S + np.einsum("sjg,jgb->sb", joint_SxJxG, mu_JxGxA).max(axis=1)
        kg.append(value_S - means_SxA.max(axis=1))
    return np.stack(kg, axis=1)


def test_gap_posterior_moments_and_kg_match_numpy_enumeration():
    """Posterior, means, second moments and KG of the jax module = float64 enumeration, random counts."""
    rng = np.random.default_rng(0)
    succ_SxA, fail_SxA = rng.integers(0, 30, (2, 40, 5)).astype(np.float64)
    gaps_G = np.asarray(bandit_bayes.gap_grid(0.1, 0.5, 64), np.float64)
    post_SxJxG, mu_JxGxA = _np_posterior(succ_SxA, fail_SxA, gaps_G)
    args = tuple(jnp.asarray(x, jnp.float32) for x in (succ_SxA.T, fail_SxA.T, gaps_G))
    logpost_AxNxG = bandit_bayes.gap_log_posterior(*args)
    np.testing.assert_allclose(np.exp(np.transpose(logpost_AxNxG, (1, 0, 2))), post_SxJxG, atol=2e-6)
    means_AxN, second_AxAxN = bandit_bayes.gap_posterior_moments(*args)
    np.testing.assert_allclose(means_AxN.T, np.einsum("sjg,jga->sa", post_SxJxG, mu_JxGxA), atol=2e-6)
    second_SxAxA = np.einsum("sjg,jga,jgb->sab", post_SxJxG, mu_JxGxA, mu_JxGxA)
    np.testing.assert_allclose(np.transpose(second_AxAxN, (2, 0, 1)), second_SxAxA, atol=2e-6)
    kg_AxN = bandit_bayes.knowledge_gradient(means_AxN, second_AxAxN)
    np.testing.assert_allclose(kg_AxN.T, _np_kg(post_SxJxG, mu_JxGxA), atol=5e-6)


class _ExactGapBandit:
    """Every count state (s_1, f_1, ..., s_K, f_K) with at most T pulls of the grid gap prior, in float64."""

    def __init__(self, num_actions, horizon, grid_size=256):
        self.num_actions, self.horizon = num_actions, horizon
        self.gaps_G = np.asarray(bandit_bayes.gap_grid(0.1, 0.5, grid_size), np.float64)
        self.states = np.array(
            [s for s in itertools.product(range(horizon + 1), repeat=2 * num_actions) if sum(s) <= horizon]
        )
        self.succ, self.fail = self.states[:, 0::2].astype(float), self.states[:, 1::2].astype(float)
        self.post, mu_JxGxA = _np_posterior(self.succ, self.fail, self.gaps_G)
        self.means = np.einsum("sjg,jga->sa", self.post, mu_JxGxA)
        self.rounds = self.states.sum(axis=1)
        index, steps = {tuple(s): i for i, s in enumerate(self.states)}, np.eye(2 * num_actions, dtype=int)
        # next_[a][r]: the state after reward r of arm a (-1 past the horizon, where the value is 0).
        self.next_ = [
            [np.array([index.get(tuple(s + steps[2 * a + 1 - r]), -1) for s in self.states]) for r in (0, 1)]
            for a in range(num_actions)
        ]
        later_S = np.maximum(horizon - self.rounds - 1, 0)
        self.scores = {
            "gap_bayes_greedy": self.means,
            "gap_bayes_kg": self.means + later_S[:, None] * _np_kg(self.post, mu_JxGxA),
        }
        self.policies = {name: self._ties(scores) for name, scores in self.scores.items()}
        self.policies["gap_bayes_thompson"] = self.post.sum(axis=2)  # P(play j) = P(j is the best arm)

    @staticmethod
    def _ties(scores_SxA, tol=1e-12):
        """Uniform over the (numerically) tied maxima."""
        best_SxA = scores_SxA >= scores_SxA.max(axis=1, keepdims=True) - tol
        return best_SxA / best_SxA.sum(axis=1, keepdims=True)

    def value(self, policy_SxA=None):
        """Expected total reward from the empty state: the Bayes-optimal one (DP) or a policy's (evaluation)."""
        value_S = np.zeros(len(self.states) + 1)  # entry -1: past the horizon
        for t in range(self.horizon - 1, -1, -1):
            sel = self.rounds == t
            q_SxA = np.stack(
                [
                    self.means[sel, a] * (1.0 + value_S[self.next_[a][1][sel]])
                    + (1.0 - self.means[sel, a]) * value_S[self.next_[a][0][sel]]
                    for a in range(self.num_actions)
                ],
                axis=1,
            )
            value_S[:-1][sel] = q_SxA.max(axis=1) if policy_SxA is None else np.sum(policy_SxA[sel] * q_SxA, axis=1)
        return value_S[0]

    def reachable(self, policy_SxA):
        """States with positive probability under the policy, before the horizon -> bool (S,)."""
        reach_S = np.zeros(len(self.states) + 1, bool)
        reach_S[0] = True
        for t in range(self.horizon):
            for s in np.flatnonzero(reach_S[:-1] & (self.rounds == t)):
                for a in np.flatnonzero(policy_SxA[s] > 0):
                    reach_S[[self.next_[a][0][s], self.next_[a][1][s]]] = True
        return reach_S[:-1] & (self.rounds < self.horizon)


def _jax_actions(name, exact, states_mask):
    """The jax policy's action in each masked state, one padded batch per round (one compile)."""
    algorithm = bandits.ALGORITHMS[name]
    hp = dict(bandits.resolve_hparams(name, exact.horizon, exact.num_actions))
    select = jax.jit(
        lambda counts, sums, t: algorithm.select(
            {"counts": counts, "sums": sums},
            t,
            bandits.Draws(jnp.arange(counts.shape[1], dtype=jnp.uint32), (), jax.random.PRNGKey(0)),
            hp,
        )
    )
    width = max(np.sum(states_mask & (exact.rounds == t)) for t in range(exact.horizon))
    actions = np.full(len(exact.states), -1)
    for t in range(exact.horizon):
        idx = np.flatnonzero(states_mask & (exact.rounds == t))
        pad = np.concatenate([idx, np.full(width - len(idx), idx[0])])
        counts, sums = (exact.succ + exact.fail)[pad].T, exact.succ[pad].T
        actions[idx] = np.asarray(
            select(jnp.asarray(counts, jnp.float32), jnp.asarray(sums, jnp.float32), jnp.int32(t))
        )[: len(idx)]
    return actions


@pytest.mark.parametrize("num_actions, horizon", [(2, 24), (3, 12)])
def test_exact_dp_bounds_the_informed_policies_and_jax_matches_numpy(num_actions, horizon):
    """DP optimum >= every policy's exact value; jax greedy / KG choose numpy's argmax on reachable states."""
    exact = _ExactGapBandit(num_actions, horizon)
    optimum = exact.value()
    best_possible = horizon * np.mean(0.5 + exact.gaps_G / 2)
    values = {name: exact.value(policy) for name, policy in exact.policies.items()}
    for name, value in values.items():
        assert value <= optimum + 1e-9, name
    print(
        f"K={num_actions} T={horizon}: Bayes-optimal regret {best_possible - optimum:.4f}; policies' regret "
        + ", ".join(f"{name} {best_possible - v:.4f}" for name, v in values.items())
    )
    # Measured: greedy (and KG, which makes the same choices here) is Bayes-optimal to 1e-15 at K = 2 (T <= 30),
    # K = 3 (T <= 16) and K = 4 (T = 12), as for Feldman's and Rodman's one-distinct-arm bandits, where the
    # myopic rule is optimal; Thompson is 26-43% of the optimum's regret above it. So the best informed policy
    # must be optimal here, and Thompson's gap shows that the DP does tell policies apart.
    assert optimum - max(values["gap_bayes_greedy"], values["gap_bayes_kg"]) < 1e-9
    assert optimum - values["gap_bayes_thompson"] > 0.2 * (best_possible - optimum)
    for name in ("gap_bayes_greedy", "gap_bayes_kg"):
        mask = exact.reachable(exact.policies[name])
        chosen = _jax_actions(name, exact, mask)
        scores_SxA = exact.scores[name][mask]
        # float32 against float64: the jax choice must be within 1e-4 of numpy's best score.
        assert np.all(scores_SxA[np.arange(mask.sum()), chosen[mask]] >= scores_SxA.max(axis=1) - 1e-4), name


def test_run_bandit_value_matches_exact_policy_value():
    """Each gap policy's Monte Carlo total reward under run_bandit on grid-prior draws = its exact value (3 SE)."""
    exact = _ExactGapBandit(2, 20)
    num_runs, rng = 20000, np.random.default_rng(1)
    best_R, gap_R = rng.integers(0, 2, num_runs), exact.gaps_G[rng.integers(0, len(exact.gaps_G), num_runs)]
    means_RxA = np.where(np.arange(2) == best_R[:, None], 0.5 + gap_R[:, None] / 2, 0.5 - gap_R[:, None] / 2)
    rewards_RxTxA = (rng.random((num_runs, 20, 2)) < means_RxA[:, None]).astype(np.float32)
    for name in GAP_NAMES:
        _, rewards_RxT = run_bandit(name, jax.random.PRNGKey(2), np.full((20, 2), 0.5), num_runs, rewards=rewards_RxTxA)
        total_R = np.asarray(rewards_RxT).sum(axis=1)
        exact_value = exact.value(exact.policies[name])
        assert abs(total_R.mean() - exact_value) < 3 * total_R.std() / np.sqrt(num_runs), name


def _run_filter(hp, actions_T, rewards_T, num_runs):
    """Feed one history to num_runs independent filters -> the final state."""
    algorithm = bandits.ALGORITHMS["abrupt_bayes_greedy"]
    update = jax.jit(lambda state, t, a, r: algorithm.update(state, t, a, r, hp))
    state = algorithm.init(num_runs, 2, hp)
    for t, (a, r) in enumerate(zip(actions_T, rewards_T, strict=True)):
        state = update(state, jnp.int32(t), jnp.full((num_runs,), a, jnp.int32), jnp.full((num_runs,), r, jnp.float32))
    return state


def test_particle_filter_matches_importance_sampling_from_the_env():
    """Predictive means and change count after a history = importance-weighted AbruptNSMAB prior draws."""
    env = AbruptNSMAB(num_actions=2, horizon=8, variation_budget=1.0, num_changes=2)
    hp = dict(
        bandits.resolve_hparams("abrupt_bayes_greedy", 8, 2, variation_budget=1.0, num_changes=2, num_particles=4096)
    )
    actions_T, rewards_T = np.array([0, 1, 0, 0, 1, 1]), np.array([1.0, 0.0, 1.0, 1.0, 1.0, 0.0])
    state = _run_filter(hp, actions_T, rewards_T, num_runs=64)
    pf_means_RxA = np.asarray(nsmab_bayes.predictive_means(state)).T  # round 6's predictive, per run
    pf_changes_R = np.asarray(state["changes"]).mean(axis=1)
    means_MxTxA = np.asarray(sample_batch(env, jax.random.PRNGKey(3), 1 << 19).means_TxA, np.float64)
    chosen_MxT = means_MxTxA[:, np.arange(6), actions_T]
    weights_M = np.prod(rewards_T * chosen_MxT + (1 - rewards_T) * (1 - chosen_MxT), axis=1)
    changes_M = np.sum(np.any(np.diff(means_MxTxA[:, :7], axis=1) != 0, axis=2), axis=1)
    for pf_R, draws_M in (
        (pf_means_RxA[:, 0], means_MxTxA[:, 6, 0]),
        (pf_means_RxA[:, 1], means_MxTxA[:, 6, 1]),
        (pf_changes_R, changes_M),
    ):
        is_mean = np.sum(weights_M * draws_M) / np.sum(weights_M)
        is_se = np.sqrt(np.sum((weights_M * (draws_M - is_mean)) ** 2)) / np.sum(weights_M)
        pf_se = pf_R.std() / np.sqrt(len(pf_R))
        print(f"filter {pf_R.mean():.4f} +- {pf_se:.4f}   importance sampling {is_mean:.4f} +- {is_se:.4f}")
        assert abs(pf_R.mean() - is_mean) < 4 * np.hypot(is_se, pf_se) + 2e-3  # + the O(1/P) filter bias


def test_filter_prior_dynamics_follow_the_env_change_rounds():
    """Uninformative rewards (r = 0.5, likelihood 1/2): E[changes by round t] = C t / (T - 1), jumps capped."""
    hp = dict(bandits.resolve_hparams("abrupt_bayes_greedy", 10, 2, num_changes=3, num_particles=2048))
    algorithm = bandits.ALGORITHMS["abrupt_bayes_greedy"]
    state = algorithm.init(32, 2, hp)
    update = jax.jit(lambda state, t: algorithm.update(state, t, jnp.zeros(32, jnp.int32), jnp.full(32, 0.5), hp))
    for t in range(9):
        previous, state = state, update(state, jnp.int32(t))
        changes_RxP = np.asarray(state["changes"])
        # 32 x 2048 draws of a count in 0..3: a tolerance of 0.02 is > 5 standard errors.
        assert abs(changes_RxP.mean() - 3 * (t + 1) / 9) < 0.02, t
        jumped = np.asarray(state["changes"] > previous["changes"])  # no resampling drift: all weights equal
        step_AxRxP = np.abs(np.asarray(state["means"]) - np.asarray(previous["means"]))
        assert np.all(step_AxRxP.max(axis=0)[jumped] <= 2.0 / 3 + 1e-6) and np.all(step_AxRxP.max(axis=0)[~jumped] == 0)
    assert changes_RxP.min() == changes_RxP.max() == 3  # the last round holds all the changes


def test_systematic_resampling_keeps_floor_or_ceil_copies():
    """Each particle gets floor(P w_i) or ceil(P w_i) copies, indices sorted, as np.searchsorted."""
    rng = np.random.default_rng(4)
    weights_NxP, u_N = rng.random((16, 64)) ** 3, rng.random(16)
    indices_NxP = np.asarray(
        nsmab_bayes.systematic_resample(jnp.asarray(weights_NxP, jnp.float32), jnp.asarray(u_N, jnp.float32))
    )
    cdf_NxP = np.cumsum(weights_NxP, axis=1) / weights_NxP.sum(axis=1, keepdims=True)
    for n in range(16):
        expected_P = np.searchsorted(cdf_NxP[n], (np.arange(64) + u_N[n]) / 64, side="right")
        assert np.mean(indices_NxP[n] == expected_P) > 0.97  # float32 rounding at CDF boundaries
        copies_P = np.bincount(indices_NxP[n], minlength=64)
        assert np.all(np.abs(copies_P - 64 * weights_NxP[n] / weights_NxP[n].sum()) < 1 + 1e-3)


def test_abrupt_greedy_beats_ucb1_on_the_prior():
    """Greedy on the filter has lower dynamic regret than UCB1 on NS-MAB training draws (measured 12.5 vs 18.7)."""
    num_runs = 1024
    scenarios = sample_batch(AbruptNSMAB(num_actions=5, horizon=100), jax.random.PRNGKey(5), num_runs)
    regrets = {}
    for name, hp in (("abrupt_bayes_greedy", {"num_particles": 256}), ("ucb1", {})):
        actions_NxT, _ = run_bandit(
            name, jax.random.PRNGKey(6), scenarios.means_TxA[0], num_runs, rewards=scenarios.rewards_TxA, **hp
        )
        regrets[name] = np.asarray(regret.dynamic_regret(scenarios.means_TxA, actions_NxT)[:, -1])
    diff_N = regrets["abrupt_bayes_greedy"] - regrets["ucb1"]
    print({name: round(float(r.mean()), 2) for name, r in regrets.items()})
    assert diff_N.mean() + 3 * diff_N.std() / np.sqrt(num_runs) < 0


@pytest.mark.parametrize("name", GAP_NAMES + ABRUPT_NAMES)
def test_jit_shapes_and_reproducibility(name):
    """(N, T) int32 actions in range and 0/1 rewards; the same key gives the same run."""
    hp = {"num_particles": 16} if name in ABRUPT_NAMES else {}
    means_TxA = np.tile(np.array([0.2, 0.5, 0.8], np.float32), (12, 1))
    actions_NxT, rewards_NxT = run_bandit(name, jax.random.PRNGKey(7), means_TxA, 8, **hp)
    assert actions_NxT.shape == rewards_NxT.shape == (8, 12) and actions_NxT.dtype == jnp.int32
    assert np.all((np.asarray(actions_NxT) >= 0) & (np.asarray(actions_NxT) < 3))
    assert set(np.unique(np.asarray(rewards_NxT))) <= {0.0, 1.0}
    again_NxT, _ = run_bandit(name, jax.random.PRNGKey(7), means_TxA, 8, **hp)
    np.testing.assert_array_equal(actions_NxT, again_NxT)


@pytest.mark.parametrize(
    "name, hp, match",
    [
        ("gap_bayes_greedy", {"gap_low": 0.6}, "gap_low and gap_high"),
        ("gap_bayes_thompson", {"gap_high": 1.5}, "gap_low and gap_high"),
        ("gap_bayes_greedy", {"grid_size": 0}, "grid_size"),
        ("gap_bayes_greedy", {"grid_size": 2.5}, "grid_size"),
        ("gap_bayes_kg", {"horizon": 0}, "horizon"),
        ("gap_bayes_greedy", {"horizon": 10}, "unknown hyperparameter"),
        ("abrupt_bayes_greedy", {"num_changes": 12}, "num_changes must be at most"),
        ("abrupt_bayes_kg", {"num_changes": 0}, "num_changes"),
        ("abrupt_bayes_thompson", {"variation_budget": -1.0}, "variation_budget"),
        ("abrupt_bayes_greedy", {"num_particles": 0}, "num_particles"),
    ],
)
def test_hyperparameter_validation(name, hp, match):
    """Bad hyperparameters raise ValueError naming the parameter, before anything compiles."""
    with pytest.raises(ValueError, match=match):
        run_bandit(name, jax.random.PRNGKey(0), np.full((12, 3), 0.5), 4, **hp)


@pytest.mark.parametrize("name", ["gap_bayes_kg", "abrupt_bayes_greedy"])
def test_reward_tables_outside_the_unit_interval_are_rejected(name):
    """The Bernoulli likelihood needs rewards in [0, 1]: run_bandit says so."""
    with pytest.raises(ValueError, match="rewards"):
        run_bandit(name, jax.random.PRNGKey(0), np.full((12, 3), 0.5), 4, rewards=np.full((12, 3), 2.0))


def test_registered_names_and_duplicates():
    """The six informed policies are registered; registering a name again raises."""
    assert set(GAP_NAMES + ABRUPT_NAMES) <= set(bandits.ALGORITHMS)
    with pytest.raises(ValueError, match="already registered"):
        bandits.register({"gap_bayes_greedy": bandits.ALGORITHMS["gap_bayes_greedy"]})


@pytest.mark.slow
@pytest.mark.parametrize("horizon", [100, 200])
def test_print_bayes_reference_regrets(horizon):
    """Print (no assertion) the informed policies' regrets next to the classical ones, N = 4096."""
    classical = ("ucb1", "thompson")
    for label, env, names in (
        ("MAB prior", GapMAB(horizon=horizon, gap_range=(0.1, 0.5)), GAP_NAMES + classical),
        ("hard D=0.2", GapMAB(horizon=horizon, gap=0.2), GAP_NAMES + classical),
        ("NS-MAB", AbruptNSMAB(horizon=horizon), ABRUPT_NAMES + classical + ("sw_ucb", "d_ucb")),
    ):
        scenarios = sample_batch(env, jax.random.PRNGKey(8), 4096)
        for name in names:
            start = time.time()
            actions_NxT, _ = run_bandit(
                name, jax.random.PRNGKey(9), scenarios.means_TxA[0], 4096, rewards=scenarios.rewards_TxA
            )
            final_N = np.asarray(regret.pseudo_regret(scenarios.means_TxA, actions_NxT)[:, -1])
            print(
                f"T={horizon} {label:10s} {name:22s} {final_N.mean():6.2f} +- {final_N.std() / 64:.2f}"
                f"  ({time.time() - start:.1f} s with compile)"
            )
