"""Regret curves and growth statistics against float64 numpy / scipy references."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import scipy.stats
from absl.testing import parameterized

from rmft_jax import regret


def numpy_static_regret(rewards_TxA, policies_TxA):
    """Static regret curve, one round at a time, float64."""
    cum_A, learner, out = np.zeros(rewards_TxA.shape[1]), 0.0, []
    for r_A, p_A in zip(rewards_TxA.astype(np.float64), policies_TxA.astype(np.float64), strict=True):
        cum_A += r_A
        learner += p_A @ r_A
        out.append(cum_A.max() - learner)
    return np.array(out)


def numpy_pseudo_regret(means_TxA, actions_T):
    """Pseudo (dynamic) regret, one round at a time, float64."""
    total, out = 0.0, []
    for mu_A, a in zip(means_TxA.astype(np.float64), actions_T, strict=True):
        total += mu_A.max() - mu_A[a]
        out.append(total)
    return np.array(out)


class CurveTest(chex.TestCase):
    def setUp(self):
        super().setUp()
        k_r, k_p, k_a = jax.random.split(jax.random.key(0), 3)
        self.rewards_NxTxA = np.asarray(jax.random.uniform(k_r, (4, 30, 5)))
        self.policies_NxTxA = np.asarray(jax.nn.softmax(3 * jax.random.normal(k_p, (4, 30, 5))))
        self.actions_NxT = np.asarray(jax.random.randint(k_a, (4, 30), 0, 5))

    @chex.variants(with_jit=True, without_jit=True)
    def test_static_regret_matches_numpy(self):
        got = self.variant(regret.static_regret)(self.rewards_NxTxA, self.policies_NxTxA)
        chex.assert_shape(got, (4, 30))
        for n in range(4):
            np.testing.assert_allclose(
                got[n], numpy_static_regret(self.rewards_NxTxA[n], self.policies_NxTxA[n]), atol=1e-5
            )

    def test_realized_regret_is_static_regret_of_one_hot(self):
        got = regret.realized_regret(self.rewards_NxTxA, self.actions_NxT)
        for n in range(4):
            onehot_TxA = np.eye(5)[self.actions_NxT[n]]
            np.testing.assert_allclose(got[n], numpy_static_regret(self.rewards_NxTxA[n], onehot_TxA), atol=1e-5)

    @chex.variants(with_jit=True, without_jit=True)
    def test_pseudo_regret_matches_numpy_and_broadcasts(self):
        means_TxA = self.rewards_NxTxA[0]
        got = self.variant(regret.pseudo_regret)(means_TxA, self.actions_NxT)
        chex.assert_shape(got, (4, 30))
        for n in range(4):
            np.testing.assert_allclose(got[n], numpy_pseudo_regret(means_TxA, self.actions_NxT[n]), atol=1e-5)

    def test_pseudo_regret_is_non_decreasing_and_expected_version_agrees(self):
        curve = regret.pseudo_regret(self.rewards_NxTxA, self.actions_NxT)
        self.assertTrue(bool(jnp.all(jnp.diff(curve, axis=-1) >= 0)))
        onehot = jax.nn.one_hot(self.actions_NxT, 5)
        np.testing.assert_allclose(regret.expected_pseudo_regret(self.rewards_NxTxA, onehot), curve, atol=1e-5)

    def test_dynamic_regret_of_oracle_is_zero_and_of_static_best_is_positive(self):
        # Means that switch the best arm half way: the per-round oracle has zero dynamic regret,
        # the best fixed arm does not.
        means_TxA = np.tile([0.8, 0.2], (40, 1)).astype(np.float32)
        means_TxA[20:] = means_TxA[20:, ::-1]
        oracle_T = means_TxA.argmax(-1)
        np.testing.assert_array_equal(regret.dynamic_regret(means_TxA, oracle_T), 0.0)
        fixed = regret.dynamic_regret(means_TxA, np.zeros(40, np.int32))
        np.testing.assert_allclose(fixed[-1], 20 * 0.6, atol=1e-4)

    def test_bad_input(self):
        with self.assertRaisesRegex(ValueError, "same shape"):
            regret.static_regret(self.rewards_NxTxA, self.policies_NxTxA[:, :10])
        with self.assertRaisesRegex(ValueError, "horizon T.*>= 2"):
            regret.static_regret(np.zeros((1, 3)), np.zeros((1, 3)))
        with self.assertRaisesRegex(ValueError, "actions must lie in"):
            regret.pseudo_regret(self.rewards_NxTxA, self.actions_NxT + 5)
        with self.assertRaisesRegex(ValueError, "actions must have shape"):
            regret.pseudo_regret(self.rewards_NxTxA, self.actions_NxT[:, :3])
        with self.assertRaisesRegex(ValueError, "integers"):
            regret.pseudo_regret(self.rewards_NxTxA, self.actions_NxT.astype(np.float32))


class GrowthTest(parameterized.TestCase):
    @parameterized.parameters(0.3, 0.5, 1.0, 1.2)
    def test_exact_power_law(self, beta):
        t = np.arange(1, 501, dtype=np.float64)
        fit = regret.growth(2.0 * t**beta)
        np.testing.assert_allclose(fit["beta_hat"], beta, atol=2e-4)
        np.testing.assert_allclose(fit["intercept"], np.log(2.0), atol=2e-3)

    def test_matches_scipy_linregress_with_masked_points(self):
        rng = np.random.default_rng(0)
        t = np.arange(1, 301, dtype=np.float64)
        curve = 3 * t**0.6 * np.exp(0.2 * rng.standard_normal(300))
        curve[:7] = -1.0  # non-positive early rounds have no log and must be left out
        curve[40] = 0.0
        keep = curve > 0
        ref = scipy.stats.linregress(np.log(t[keep]), np.log(curve[keep]))
        fit = regret.growth(curve.astype(np.float32))
        self.assertEqual(int(fit["num_points"]), keep.sum())
        np.testing.assert_allclose(fit["beta_hat"], ref.slope, rtol=1e-4)
        np.testing.assert_allclose(fit["stderr"], ref.stderr, rtol=1e-3)
        ref_p = scipy.stats.t.cdf((ref.slope - 1) / ref.stderr, keep.sum() - 2)
        np.testing.assert_allclose(fit["p_reg"], ref_p, rtol=1e-3, atol=1e-30)

    def test_min_round_restricts_the_fit(self):
        t = np.arange(1, 201, dtype=np.float64)
        curve = np.where(t <= 50, t, 50 * (t / 50) ** 0.5)  # linear, then sqrt
        fit = regret.growth(curve.astype(np.float32), min_round=51)
        np.testing.assert_allclose(fit["beta_hat"], 0.5, atol=1e-3)
        self.assertEqual(int(fit["num_points"]), 150)

    def test_p_reg_separates_sublinear_from_linear(self):
        rng = np.random.default_rng(1)
        t = np.arange(1, 201, dtype=np.float64)
        noise = np.exp(0.05 * rng.standard_normal(200))
        self.assertLess(float(regret.growth(t**0.5 * noise)["p_reg"]), 1e-6)
        self.assertGreater(float(regret.growth(0.3 * t * noise)["p_reg"]), 0.05)

    def test_p_trend_matches_binomial_tail(self):
        rng = np.random.default_rng(2)
        t = np.arange(1, 101, dtype=np.float64)
        curve = t**0.7 * np.exp(0.3 * rng.standard_normal(100))
        avg = curve / t
        diffs = np.diff(avg)
        ref = scipy.stats.binom.sf((diffs < 0).sum() - 1, (diffs != 0).sum(), 0.5)
        np.testing.assert_allclose(regret.growth(curve.astype(np.float32))["p_trend"], ref, rtol=1e-3)
        # A linear curve has constant R(t)/t: no moves, no evidence of a trend.
        self.assertEqual(float(regret.growth(2.0 * t)["p_trend"]), 1.0)

    def test_negative_curve_gives_nan_slope(self):
        fit = regret.growth(-np.arange(1, 50, dtype=np.float32))
        self.assertTrue(np.isnan(fit["beta_hat"]) and np.isnan(fit["p_reg"]))
        self.assertEqual(int(fit["num_points"]), 0)

    def test_batched_curves_match_single(self):
        t = np.arange(1, 101, dtype=np.float32)
        curves = np.stack([t**0.4, t**0.9, 5 * t**0.2])[:, None].repeat(2, axis=1)  # (3, 2, T)
        fit = regret.growth(curves)
        chex.assert_shape(fit["beta_hat"], (3, 2))
        for i in range(3):
            np.testing.assert_allclose(fit["beta_hat"][i, 1], regret.growth(curves[i, 0])["beta_hat"], rtol=1e-6)

    def test_bad_input(self):
        with self.assertRaisesRegex(ValueError, "min_round"):
            regret.growth(np.arange(1, 10, dtype=np.float32), min_round=9)
        with self.assertRaisesRegex(ValueError, "horizon T.*>= 2"):
            regret.growth(np.ones(1))
        with self.assertRaisesRegex(ValueError, r"\(\.\.\., T\)"):
            regret.growth(np.float32(1.0))
