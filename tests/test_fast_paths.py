"""The fast paths of the FOL iteration (the configs' defaults): inverse-CDF sampling with integer actions, the matmul
prefix sum."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import fol_single_layer
from rmft_jax import models
from rmft_jax.tasks.fol import rollout
from rmft_jax.tasks.fol import task as fol


def test_inverse_cdf_rollouts_sample_the_policy_and_score_their_actions():
    logits_MxTxA = jax.random.normal(jax.random.key(0), (3, 6, 4)) * 2.0
    rewards_MxTxA = jax.random.uniform(jax.random.key(1), (3, 6, 4))
    traj = rollout.fol_rollouts(logits_MxTxA, rewards_MxTxA, jax.random.key(2), 4000, sampler="inverse_cdf")
    assert traj.targets_MxLxTxA is None and traj.actions_MxLxT.shape == (3, 4000, 6)
    # Empirical action frequencies per (scenario, round) match the softmax policy.
    freq_MxTxA = np.stack([np.mean(np.asarray(traj.actions_MxLxT) == a, axis=1) for a in range(4)], axis=-1)
    np.testing.assert_allclose(freq_MxTxA, np.asarray(jax.nn.softmax(logits_MxTxA)), atol=0.03)
    # Realized reward and regret of the integer actions, against a plain loop in float64.
    rewards = np.asarray(rewards_MxTxA, np.float64)
    actions = np.asarray(traj.actions_MxLxT)
    for m in range(3):
        best = rewards[m].sum(0).max()
        for rollout_index in (0, 17, 3999):
            got = sum(rewards[m, t, actions[m, rollout_index, t]] for t in range(6))
            assert float(traj.reward_MxL[m, rollout_index]) == pytest.approx(got, abs=1e-5)
            assert float(traj.regret_MxL[m, rollout_index]) == pytest.approx(best - got, abs=1e-5)


def fast_smoke(**rmft):
    """The smoke config with the inverse-CDF sampler and the matmul prefix sum."""
    cfg = fol_single_layer.get_config("smoke")
    cfg.rmft.sampler = "inverse_cdf"
    cfg.model.prefix_sum = "matmul"
    for field, value in rmft.items():
        cfg.rmft[field] = value
    return cfg


def test_fast_iteration_keeps_the_k_best_and_imitates_their_mean():
    cfg = fast_smoke()
    fol.validate_config(cfg)
    s, env = fol.FOLSettings.from_config(cfg), fol.build_env(cfg)
    graphdef, params = fol.build_model(cfg, seed=0)
    phases = fol.make_phases(env, graphdef, fol.build_optimizer(cfg), s)
    rolls = jax.jit(phases.rollout)(params, jax.random.key(3), jax.random.key(4))
    keep_Mxk, batch = phases.select(rolls, jax.random.key(5))
    regret_MxL = np.asarray(rolls.regret_MxL)
    kept = np.take_along_axis(regret_MxL, np.asarray(keep_Mxk), axis=1)
    # The kept regrets are the k smallest of each scenario's L.
    np.testing.assert_allclose(np.sort(kept, axis=1), np.sort(regret_MxL, axis=1)[:, : s.num_selected])
    actions = np.asarray(rolls.data.shared.actions_MxLxT)
    kept_actions = np.take_along_axis(actions, np.asarray(keep_Mxk)[..., None], axis=1)
    expected = np.eye(s.num_actions)[kept_actions].mean(axis=1)
    np.testing.assert_allclose(np.asarray(batch.targets_BxTxA), expected, atol=1e-6)
    optimizer = fol.build_optimizer(cfg)
    iteration = fol.make_iteration(env, graphdef, optimizer, s)
    new_params, _, metrics = iteration(params, optimizer.init(params), jax.random.key(6))
    assert bool(metrics["finite"]) and float(metrics["selected_regret"]) <= float(metrics["rollout_regret"])


def test_inverse_cdf_with_logit_noise_samples_each_rollouts_noisy_policy():
    # Zero logits plus N(0, 2^2) noise: a rollout's action frequencies follow its own noisy softmax, so
    # across rollouts the marginal stays uniform while single rollouts are far from uniform.
    logits_1xTxA = jnp.zeros((1, 3000, 3))
    rewards_1xTxA = jax.random.uniform(jax.random.key(1), (1, 3000, 3))
    traj = rollout.fol_rollouts(
        logits_1xTxA,
        rewards_1xTxA,
        jax.random.key(2),
        64,
        exploration="logit_noise",
        noise_std=2.0,
        sampler="inverse_cdf",
    )
    actions_LxT = np.asarray(traj.actions_MxLxT[0])
    key_noise, _ = jax.random.split(jax.random.key(2))
    noisy_LxTxA = 2.0 * np.asarray(jax.random.normal(key_noise, (1, 64, 3000, 3)))[0]
    probs_LxTxA = np.exp(noisy_LxTxA) / np.exp(noisy_LxTxA).sum(-1, keepdims=True)
    # The probability each rollout gave its sampled actions, against the uniform 1/3: the noisy policy explains them.
    played = np.take_along_axis(probs_LxTxA, actions_LxT[..., None], axis=-1)[..., 0]
    assert played.mean() > 0.5  # E[p(a)] under a ~ p is sum p^2, about 0.6 here; 1/3 if the noise were ignored
    np.testing.assert_allclose(np.mean(actions_LxT[..., None] == np.arange(3), axis=(0, 1)), 1 / 3, atol=0.01)
    # target='policy' samples nothing: the sampler does not apply.
    policy = rollout.fol_rollouts(
        logits_1xTxA,
        rewards_1xTxA,
        jax.random.key(2),
        4,
        exploration="logit_noise",
        target="policy",
        sampler="inverse_cdf",
    )
    assert policy.actions_MxLxT is None and policy.targets_MxLxTxA.shape == (1, 4, 3000, 3)
    with pytest.raises(ValueError, match="rmft.sampler"):
        fol.validate_config(fast_smoke(sampler="nope"))


@pytest.mark.parametrize("name", ["linear_attention", "shared_linear_attention", "time_linear_attention"])
def test_matmul_prefix_sum_equals_cumsum_and_is_causal(name):
    kwargs = dict(seed=0, init_scale=1.0)
    g_cum, p_cum = models.nnx.split(models.make_model(name, 5, **kwargs))
    g_mat, p_mat = models.nnx.split(models.make_model(name, 5, prefix_sum="matmul", **kwargs))
    rewards = jax.random.uniform(jax.random.key(0), (4, 40, 5))
    cum, mat = models.apply(g_cum, p_cum, rewards), models.apply(g_mat, p_mat, rewards)
    np.testing.assert_allclose(np.asarray(mat), np.asarray(cum), rtol=1e-5, atol=1e-4)
    # Round t's logits do not move when rounds >= t change (bit for bit).
    future = rewards.at[:, 25:].set(jax.random.uniform(jax.random.key(1), (4, 15, 5)) * 9.0)
    np.testing.assert_array_equal(np.asarray(models.apply(g_mat, p_mat, future)[:, :26]), np.asarray(mat[:, :26]))
    with pytest.raises(ValueError, match="prefix_sum"):
        models.make_model(name, 5, prefix_sum="scan")


def test_recurrent_step_matches_the_matmul_pass():
    graphdef, params = models.nnx.split(
        models.make_model("linear_attention", 3, seed=2, init_scale=1.0, prefix_sum="matmul")
    )
    rewards_TxA = jax.random.uniform(jax.random.key(7), (12, 3))
    full = models.apply(graphdef, params, rewards_TxA)
    state = models.init_state(graphdef, params)
    steps = [models.readout(graphdef, params, state)]
    for t in range(11):
        logits, state = models.step(graphdef, params, state, rewards_TxA[t])
        steps.append(logits)
    np.testing.assert_allclose(np.asarray(jnp.stack(steps)), np.asarray(full), rtol=1e-5, atol=1e-5)
