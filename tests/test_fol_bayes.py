"""The FOL Bayes policy: posterior predictive vs float64 numpy integration, calibration vs Monte Carlo, optimality."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from rmft_jax import envs, regret
from rmft_jax.baselines import adaptive_hedge, fol_bayes, full_info

HORIZON, ACTIONS = 8, 3


def _np_clipped_loglik(r, mu_G, std):
    """float64 log-likelihood of r under clip(mu + N(0, std^2)) w.r.t. Lebesgue + atoms at 0 and 1, per mu."""
    if r <= 0.0:
        return stats.norm.logcdf(-mu_G / std)
    if r >= 1.0:
        return stats.norm.logcdf((mu_G - 1.0) / std)
    return stats.norm.logpdf(r, mu_G, std)


def _np_clipped_mean(mu, std):
    """E[clip(mu + N(0, std^2), 0, 1)] by numerical integration on a fine grid."""
    z = np.linspace(-8, 8, 4001)
    return np.trapezoid(np.clip(mu[:, None] + std * z, 0, 1) * stats.norm.pdf(z), z, axis=1)


def _np_grid_predictive(rewards_TxA, means_TxG, std):
    """(log evidence (T,), predictive (T, A)) with a uniform prior over grid columns, per action, float64."""
    horizon, num_actions = rewards_TxA.shape
    value_TxG = np.stack([_np_clipped_mean(m, std) for m in means_TxG])
    evidence, predictive = np.zeros(horizon), np.zeros((horizon, num_actions))
    for a in range(num_actions):
        log_post = np.zeros(means_TxG.shape[1])
        for t in range(horizon):
            norm = np.logaddexp.reduce(log_post) - math.log(log_post.size)
            evidence[t] += norm
            w = np.exp(log_post - np.logaddexp.reduce(log_post))
            predictive[t, a] = w @ value_TxG[t]
            log_post = log_post + _np_clipped_loglik(rewards_TxA[t, a], means_TxG[t], std)
    return evidence, predictive


def test_stochastic_predictive_matches_fine_numpy_integration():
    env = envs.StochasticFOL(HORIZON, ACTIONS)
    table = np.asarray(env.sample(jax.random.key(0)), np.float64)
    mu_G = (np.arange(4000) + 0.5) / 4000
    _, ref = _np_grid_predictive(table, np.broadcast_to(mu_G, (HORIZON, mu_G.size)), env.noise_std)
    _, ours = fol_bayes.posterior_predictive(env, jnp.asarray(table, jnp.float32))
    np.testing.assert_allclose(np.asarray(ours), ref, atol=2e-3)


def test_sine_trend_predictive_matches_fine_numpy_integration():
    env = envs.SineTrendFOL(HORIZON, ACTIONS)
    table = np.asarray(env.sample(jax.random.key(1)), np.float64)
    phase_G = 2 * math.pi * (np.arange(2000) + 0.5) / 2000
    t_T = np.arange(HORIZON)
    means_TxG = 0.5 + env.amplitude * np.sin(2 * math.pi * env.cycles * t_T[:, None] / HORIZON + phase_G)
    _, ref = _np_grid_predictive(table, means_TxG, env.noise_std)
    _, ours = fol_bayes.posterior_predictive(env, jnp.asarray(table, jnp.float32))
    np.testing.assert_allclose(np.asarray(ours), ref, atol=5e-3)


def test_ftl_trap_is_identified_after_round_zero():
    env = envs.FTLAdversarialFOL(HORIZON, ACTIONS)
    table = np.asarray(env.sample(jax.random.key(2)))
    first, second = int(np.argmax(table[0])), int(np.argmax(table[1]))
    _, pred = fol_bayes.posterior_predictive(env, jnp.asarray(table))
    pred = np.asarray(pred)
    np.testing.assert_allclose(pred[0], 0.5 / ACTIONS)  # each action is `first` w.p. 1/A and gets 0.5
    # After round 0 `first` is known; round 1's 1 goes to one of the other A - 1 actions, uniformly.
    np.testing.assert_allclose(pred[1, first], 0.0)
    np.testing.assert_allclose(np.delete(pred[1], first), 1.0 / (ACTIONS - 1), rtol=1e-6)
    np.testing.assert_allclose(pred[2:], table[2:])  # from round 2 the whole table is known
    policy = np.asarray(fol_bayes.bayes_policies(env, jnp.asarray(table)))
    assert np.all(np.argmax(policy[2:], -1) == np.argmax(table[2:], -1)) and second != first


def _mix(horizon=HORIZON):
    """Every family with bounded rewards, in one mixture."""
    comps = tuple(
        envs.make_fol(n, horizon=horizon, num_actions=ACTIONS)
        for n in ("stochastic", "uniform", "linear_trend", "sine_trend", "ftl_adversarial")
    )
    return envs.MixtureFOL(components=comps, weights=(0.3, 0.1, 0.2, 0.2, 0.2)).validate()


def _calibration_z(env, num=4096, seed=3):
    """z-score of the Bayes policy's predicted vs realized total reward (paired, over draws).

    The standard error has a floor of 1e-5 / sqrt(num): on a deterministic family the difference is float
    rounding only."""
    rewards = envs.sample_batch(env, jax.random.key(seed), num)
    policy, predictive = fol_bayes.bayes_policies(env, rewards, return_predictive=True)
    diff_N = np.asarray(jnp.sum(policy * (rewards - predictive), axis=(-1, -2)), np.float64)
    return diff_N.mean() / (max(diff_N.std(ddof=1), 1e-5) / math.sqrt(num))


def test_expected_reward_matches_monte_carlo_on_the_mixture_of_all_families():
    """The posterior predictive is the conditional mean: E[pi_t . (r_t - pred_t)] = 0 (within 2 SE)."""
    assert abs(_calibration_z(_mix())) < 2.0


@pytest.mark.parametrize("name", ["stochastic", "uniform", "linear_trend", "sine_trend", "ftl_adversarial", "gaussian"])
def test_expected_reward_matches_monte_carlo_per_family(name):
    assert abs(_calibration_z(envs.make_fol(name, horizon=HORIZON, num_actions=ACTIONS), num=2048)) < 3.0


def test_no_other_myopic_policy_does_better_on_the_training_mix():
    env = envs.MixtureFOL(
        components=(envs.StochasticFOL(20, 4), envs.FTLAdversarialFOL(20, 4), envs.SineTrendFOL(20, 4)),
        weights=(0.5, 0.25, 0.25),
    )
    rewards = envs.sample_batch(env, jax.random.key(4), 2048)
    wrong_prior = envs.MixtureFOL(components=env.components, weights=(0.9, 0.05, 0.05))
    others = {
        "ftl": full_info.ftl(rewards),
        "adahedge": adaptive_hedge.adahedge(rewards),
        "flipflop": adaptive_hedge.flipflop(rewards),
        "hedge_1": full_info.hedge(rewards, 1.0),
        "hedge_5": full_info.hedge(rewards, 5.0),
        "bayes_wrong_weights": fol_bayes.bayes_policies(wrong_prior, rewards),
        "bayes_stochastic_only": fol_bayes.bayes_policies(envs.StochasticFOL(20, 4), rewards),
    }
    bayes_N = np.asarray(jnp.sum(fol_bayes.bayes_policies(env, rewards) * rewards, axis=(-1, -2)), np.float64)
    for name, policy in others.items():
        diff_N = bayes_N - np.asarray(jnp.sum(policy * rewards, axis=(-1, -2)), np.float64)
        assert diff_N.mean() > -2 * diff_N.std(ddof=1) / math.sqrt(diff_N.size), name
    # The limit sits far below every prior-free algorithm on this mix (the trap is known from round 2).
    limit = float(jnp.mean(regret.static_regret(rewards, fol_bayes.bayes_policies(env, rewards))[:, -1]))
    assert limit < float(jnp.mean(regret.static_regret(rewards, others["adahedge"])[:, -1])) - 3.0


def test_another_horizon_is_the_bayes_policy_of_that_horizon():
    env_long = envs.SineTrendFOL(2 * HORIZON, ACTIONS)
    assert abs(_calibration_z(env_long, num=2048, seed=5)) < 3.0
    with pytest.raises(ValueError, match="build the scenario at the rewards' horizon"):
        fol_bayes.bayes_policies(envs.SineTrendFOL(HORIZON, ACTIONS), envs.sample_batch(env_long, jax.random.key(0), 2))
    # The trend's means depend on t / T: the policy of the short horizon's distribution would be miscalibrated.
    rewards = envs.sample_batch(env_long, jax.random.key(6), 512)
    mismatched = jax.vmap(
        lambda r: fol_bayes.posterior_predictive(envs.SineTrendFOL(2 * HORIZON, ACTIONS, cycles=1.0), r)[1]
    )(rewards)
    assert (
        float(jnp.mean(jnp.abs(mismatched - fol_bayes.bayes_policies(env_long, rewards, return_predictive=True)[1])))
        > 0.05
    )


def test_unsupported_settings_fail_clearly():
    with pytest.raises(ValueError, match="noise_std > 0"):
        fol_bayes.bayes_policies(envs.StochasticFOL(HORIZON, ACTIONS, noise_std=0.0), jnp.zeros((2, HORIZON, ACTIONS)))
