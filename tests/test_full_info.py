"""Full-information baselines against float64 numpy loops, causality, bounds and bad input."""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import parameterized

from rmft_jax import regret
from rmft_jax.baselines import full_info as fi


def numpy_hedge(rewards_TxA, eta):
    """Hedge, one round at a time, in float64."""
    cum_A = np.zeros(rewards_TxA.shape[1])
    out = []
    for r_A in rewards_TxA:
        w_A = np.exp(eta * (cum_A - cum_A.max()))
        out.append(w_A / w_A.sum())
        cum_A = cum_A + r_A
    return np.array(out)


def numpy_simplex_projection(v_A):
    """Projection onto the simplex by bisection on the threshold theta (a different algorithm)."""
    lo, hi = v_A.min() - 1.0, v_A.max()
    for _ in range(200):
        theta = 0.5 * (lo + hi)
        if np.maximum(v_A - theta, 0.0).sum() > 1.0:
            lo = theta
        else:
            hi = theta
    return np.maximum(v_A - 0.5 * (lo + hi), 0.0)


def numpy_l2_ftrl(rewards_TxA, eta):
    """Euclidean FTRL, one round at a time, in float64."""
    cum_A = np.zeros(rewards_TxA.shape[1])
    out = []
    for r_A in rewards_TxA:
        out.append(numpy_simplex_projection(eta * cum_A))
        cum_A = cum_A + r_A
    return np.array(out)


def numpy_ftl(rewards_TxA):
    """Follow-the-Leader with uniform tie-breaking, one round at a time."""
    cum_A = np.zeros(rewards_TxA.shape[1])
    out = []
    for r_A in rewards_TxA:
        lead_A = (cum_A == cum_A.max()).astype(float)
        out.append(lead_A / lead_A.sum())
        cum_A = cum_A + r_A
    return np.array(out)


def ftl_bad_sequence(horizon, num_actions=2):
    """(0.5, 0), (0, 1), (1, 0), ...: FTL always follows the action that is about to pay 0."""
    rewards_TxA = np.zeros((horizon, num_actions), np.float32)
    rewards_TxA[0, 0] = 0.5
    rewards_TxA[1::2, 1] = 1.0
    rewards_TxA[2::2, 0] = 1.0
    return rewards_TxA


def all_policies(rewards):
    """Policies of every full-information baseline on one table."""
    return {"hedge": fi.ftrl(rewards, 2.0), "l2": fi.ftrl(rewards, 2.0, "l2"), "ftl": fi.ftl(rewards)}


class FullInfoTest(parameterized.TestCase):
    def setUp(self):
        super().setUp()
        self.rewards_NxTxA = np.asarray(jax.random.uniform(jax.random.key(0), (3, 40, 4)))

    @parameterized.parameters(0.0, 0.5, 3.0)
    def test_hedge_matches_numpy(self, eta):
        rewards = self.rewards_NxTxA.astype(np.float64)
        with jax.enable_x64(True):  # float64 end to end, so a tight tolerance can catch off-by-one rounds
            got = np.asarray(fi.ftrl(rewards, eta))
        for n in range(3):
            np.testing.assert_allclose(got[n], numpy_hedge(rewards[n], eta), atol=1e-12)
        np.testing.assert_allclose(fi.ftrl(self.rewards_NxTxA, eta), got, atol=2e-5)  # float32 path

    def test_anytime_hedge_matches_numpy(self):
        rewards = self.rewards_NxTxA.astype(np.float64)
        with jax.enable_x64(True):
            got = np.asarray(fi.ftrl(rewards, 2.0, schedule="anytime"))
        cum_TxA = np.concatenate([np.zeros((1, 4)), np.cumsum(rewards[0], 0)[:-1]])
        eta_T = 2.0 / np.sqrt(np.arange(1, 41))
        expected = np.exp(eta_T[:, None] * cum_TxA)
        np.testing.assert_allclose(got[0], expected / expected.sum(-1, keepdims=True), atol=1e-12)

    @parameterized.parameters(0.1, 1.0, 10.0)
    def test_l2_ftrl_matches_numpy(self, eta):
        rewards = self.rewards_NxTxA.astype(np.float64)
        with jax.enable_x64(True):
            got = np.asarray(fi.ftrl(rewards, eta, regularizer="l2"))
        for n in range(3):
            np.testing.assert_allclose(got[n], numpy_l2_ftrl(rewards[n], eta), atol=1e-9)

    def test_ftl_matches_numpy_including_ties(self):
        rewards = np.round(self.rewards_NxTxA * 2) / 2  # coarse values create ties
        got = fi.ftl(rewards)
        for n in range(3):
            np.testing.assert_allclose(got[n], numpy_ftl(rewards[n]), atol=1e-7)

    def test_streaming_hedge_regret_equals_policy_route(self):
        etas_N = np.array([0.0, 0.8, 5.0], np.float32)
        rewards = self.rewards_NxTxA.astype(np.float64)
        with jax.enable_x64(True):
            fast = np.asarray(fi.hedge_regret(rewards, etas_N))
            slow = np.asarray(regret.static_regret(rewards, fi.ftrl(rewards, etas_N)))
        np.testing.assert_allclose(fast, slow, atol=1e-10)
        chex.assert_shape(fi.hedge_regret(self.rewards_NxTxA[None], 1.0), (1, 3, 40))

    def test_policies_are_distributions(self):
        for name, pol in all_policies(self.rewards_NxTxA).items():
            self.assertGreaterEqual(float(pol.min()), 0.0, name)
            np.testing.assert_allclose(pol.sum(-1), 1.0, atol=1e-5, err_msg=name)

    @parameterized.parameters(0, 1, 17, 39)
    def test_causality(self, t):
        perturbed = self.rewards_NxTxA.copy()
        perturbed[:, t:] = np.asarray(jax.random.uniform(jax.random.key(1), perturbed[:, t:].shape)) * 5
        before, after = all_policies(self.rewards_NxTxA), all_policies(perturbed)
        for name in before:
            np.testing.assert_array_equal(before[name][:, : t + 1], after[name][:, : t + 1], err_msg=name)
            if t + 1 < perturbed.shape[1] and name != "ftl":
                self.assertFalse(np.allclose(before[name][:, t + 1], after[name][:, t + 1]), name)

    def test_per_sequence_eta_and_vmap(self):
        etas_N = np.array([0.0, 1.0, 4.0], np.float32)
        batched = fi.ftrl(self.rewards_NxTxA, etas_N)
        mapped = jax.vmap(lambda r, e: fi.ftrl(r, e))(self.rewards_NxTxA, etas_N)
        for n in range(3):
            single = fi.ftrl(self.rewards_NxTxA[n], float(etas_N[n]))
            np.testing.assert_allclose(batched[n], single, atol=1e-6)
            np.testing.assert_allclose(mapped[n], single, atol=1e-6)

    def test_best_fixed_action_has_zero_regret(self):
        best_N = self.rewards_NxTxA.sum(1).argmax(-1)
        onehot_NxTxA = np.broadcast_to(np.eye(4)[best_N][:, None], self.rewards_NxTxA.shape)
        curve_NxT = regret.static_regret(self.rewards_NxTxA, onehot_NxTxA)
        np.testing.assert_allclose(curve_NxT[:, -1], 0.0, atol=1e-5)

    def test_ftl_linear_hedge_sublinear_on_ftl_bad_sequence(self):
        horizon = 1000
        rewards_TxA = ftl_bad_sequence(horizon)
        ftl_curve = regret.static_regret(rewards_TxA, fi.ftl(rewards_TxA))
        hedge_curve = regret.static_regret(rewards_TxA, fi.hedge(rewards_TxA, schedule="anytime"))
        self.assertGreater(float(ftl_curve[-1]), 0.45 * horizon)
        ftl_fit, hedge_fit = regret.growth(ftl_curve), regret.growth(hedge_curve)
        self.assertGreater(float(ftl_fit["beta_hat"]), 0.95)
        self.assertGreater(float(ftl_fit["p_reg"]), 0.05)  # linear growth is not rejected
        self.assertLess(float(hedge_fit["beta_hat"]), 0.7)
        self.assertLess(float(hedge_fit["p_reg"]), 0.01)

    def test_constant_eta_hedge_regret_at_horizon_grows_like_sqrt_t(self):
        # With eta tuned to the horizon, each run's curve is linear in t with slope ~eta/8 on this
        # sequence; sublinearity shows across horizons: R_T(T) ~ sqrt(T).
        horizons = np.array([100, 200, 400, 800, 1600, 3200])
        final = [float(regret.static_regret(r, fi.hedge(r))[-1]) for r in map(ftl_bad_sequence, horizons)]
        slope = np.polyfit(np.log(horizons), np.log(final), 1)[0]
        self.assertLess(abs(slope - 0.5), 0.1)

    @parameterized.parameters((100, 2), (500, 5), (2000, 10))
    def test_hedge_within_theory_bound(self, horizon, num_actions):
        key_u, key_b = jax.random.split(jax.random.key(horizon))
        uniform = jax.random.uniform(key_u, (64, horizon, num_actions))
        bernoulli = jax.random.bernoulli(key_b, 0.5, (64, horizon, num_actions)).astype(jnp.float32)
        bound = math.sqrt(horizon * math.log(num_actions) / 2)
        for rewards in (uniform, bernoulli):
            final_N = regret.static_regret(rewards, fi.hedge(rewards))[:, -1]
            self.assertLessEqual(float(final_N.max()), bound)

    def test_hedge_theory_eta(self):
        self.assertAlmostEqual(fi.hedge_theory_eta(100, 5), math.sqrt(8 * math.log(5) / 100))
        np.testing.assert_allclose(
            fi.hedge(self.rewards_NxTxA), fi.ftrl(self.rewards_NxTxA, fi.hedge_theory_eta(40, 4)), atol=1e-7
        )

    def test_simplex_projection_of_interior_point_is_identity(self):
        v_A = jnp.array([0.1, 0.2, 0.3, 0.4])
        np.testing.assert_allclose(fi.project_to_simplex(v_A), v_A, atol=1e-7)


class JitAndTracingTest(chex.TestCase):
    @chex.variants(with_jit=True, without_jit=True)
    def test_jit_and_no_jit_agree(self):
        rewards = jax.random.uniform(jax.random.key(3), (2, 30, 3))
        expected = numpy_hedge(np.asarray(rewards[1], np.float64), 1.5)
        got = self.variant(lambda r: fi.ftrl(r, 1.5))(rewards)
        np.testing.assert_allclose(got[1], expected, atol=1e-5)
        got_l2 = self.variant(lambda r: fi.ftrl(r, 1.5, "l2"))(rewards)
        np.testing.assert_allclose(got_l2[1], numpy_l2_ftrl(np.asarray(rewards[1], np.float64), 1.5), atol=1e-5)

    def test_no_retrace_across_etas(self):
        @jax.jit
        @chex.assert_max_traces(n=1)
        def final_regret(rewards, eta):
            return regret.static_regret(rewards, fi.ftrl(rewards, eta))[..., -1]

        rewards = jax.random.uniform(jax.random.key(4), (8, 30, 3))
        values = [final_regret(rewards, jnp.float32(eta)) for eta in (0.1, 1.0, 10.0)]
        self.assertFalse(np.allclose(values[0], values[2]))

    def test_public_call_does_not_recompile_for_new_eta(self):
        rewards = jax.random.uniform(jax.random.key(5), (4, 25, 3))
        fi.ftrl(rewards, 0.3)
        size = fi._ftrl_policies._cache_size()
        for eta in (0.7, 1.1, 2.9):
            fi.ftrl(rewards, eta)
        self.assertEqual(fi._ftrl_policies._cache_size(), size)


class BadInputTest(parameterized.TestCase):
    def test_negative_eta(self):
        with self.assertRaisesRegex(ValueError, "eta must be non-negative"):
            fi.ftrl(np.zeros((10, 3)), -0.1)

    def test_unknown_schedule(self):
        with self.assertRaisesRegex(ValueError, "unknown schedule"):
            fi.ftrl(np.zeros((10, 3)), 1.0, schedule="linear")

    def test_unknown_regularizer(self):
        with self.assertRaisesRegex(ValueError, "unknown regularizer 'l1'.*'entropy'"):
            fi.ftrl(np.zeros((10, 3)), 1.0, regularizer="l1")

    @parameterized.parameters((1, 3), (0, 3))
    def test_horizon_below_two(self, horizon, num_actions):
        with self.assertRaisesRegex(ValueError, "horizon T.*>= 2"):
            fi.ftrl(np.zeros((horizon, num_actions)), 1.0)
        with self.assertRaisesRegex(ValueError, "horizon T.*>= 2"):
            fi.ftl(np.zeros((horizon, num_actions)))

    def test_rewards_must_be_a_table(self):
        with self.assertRaisesRegex(ValueError, r"\(\.\.\., T, A\)"):
            fi.ftrl(np.zeros(10), 1.0)

    def test_eta_shape_mismatch(self):
        with self.assertRaisesRegex(ValueError, "eta must be a scalar or broadcast"):
            fi.ftrl(np.zeros((2, 10, 3)), np.ones((2, 3)))
