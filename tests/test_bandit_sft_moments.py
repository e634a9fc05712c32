"""sft.form='moments' on bandits: the single layer's SFT on per-arm prefix sums equals SFT on its forward pass.

Bandit tokens x = (e_a, r e_a, 1) make S_t = sum_{i<t} x_i x_i^T a function of each arm's pulls, reward sum and sum
of squared rewards over rounds i < t (`tokens.arm_moments`), so logits b + V S_t K^T Q c need no prefix sum per
step. Checked against dense moments and a numpy loop, in float64 to rounding and in float32 to its rounding.
"""

import flax.nnx as nnx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import mab
from rmft_jax import models
from rmft_jax.core import sft
from rmft_jax.models import linear_attention
from rmft_jax.tasks.bandit import task as bandit
from rmft_jax.tasks.bandit import tokens
from tests.test_sft_moments import assert_same_iteration

A = 4


def trajectories(rows=5, horizon=30, seed=0, dtype=jnp.float32):
    k1, k2 = jax.random.split(jax.random.key(seed))
    actions = jax.random.randint(k1, (rows, horizon), 0, A)
    rewards = jax.random.uniform(k2, (rows, horizon), dtype=dtype)
    return actions, rewards


def model(**kwargs):
    return nnx.split(models.make_model("linear_attention", A, seed=3, init_scale=0.5, input_dim=2 * A, **kwargs))


def test_arm_moments_are_each_arms_pulls_reward_sums_and_squares_before_round_t():
    actions, rewards = trajectories()
    got = np.asarray(tokens.arm_moments(tokens.encode(actions, rewards, A), A))
    a, r = np.asarray(actions), np.asarray(rewards, np.float64)
    for b in range(a.shape[0]):
        n, s, q = np.zeros(A), np.zeros(A), np.zeros(A)
        for t in range(a.shape[1]):
            np.testing.assert_allclose(got[b, t], np.concatenate([n, s, q, [t]]), rtol=1e-6, atol=1e-6)
            n[a[b, t]] += 1
            s[a[b, t]] += r[b, t]
            q[a[b, t]] += r[b, t] ** 2


def test_arm_moments_times_their_projection_equal_the_dense_second_moments_times_w_in_float64():
    with jax.enable_x64(True):
        actions, rewards = trajectories(dtype=jnp.float64)
        toks = tokens.encode(actions, rewards.astype(jnp.float64), A).astype(jnp.float64)
        w = jax.random.normal(jax.random.key(4), (2 * A + 1,), jnp.float64)
        ones = jnp.ones(toks.shape[:-1] + (1,), jnp.float64)
        x = jnp.concatenate([toks, ones], axis=-1)
        dense = jnp.pad(
            jnp.cumsum(x[..., :, None] * x[..., None, :], axis=-3)[:, :-1], [(0, 0), (1, 0), (0, 0), (0, 0)]
        )
        stats = tokens.arm_moments(toks, A)
        np.testing.assert_allclose(stats @ tokens.moments_projection(w, A), dense @ w, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("learned_query", [False, True])
def test_logits_and_gradients_from_arm_moments_equal_the_forward_pass(learned_query):
    graphdef, params = model(learned_query=learned_query)
    actions, rewards = trajectories(rows=6, horizon=60)
    toks = tokens.encode(actions, rewards, A)
    stats = tokens.arm_moments(toks, A)
    targets = jax.nn.one_hot(actions, A)

    def from_stats(p, st):
        return models.apply_statistic(graphdef, p, st, lambda w: tokens.moments_projection(w, A))

    forward = models.apply(graphdef, params, toks)
    np.testing.assert_allclose(from_stats(params, stats), forward, rtol=1e-5, atol=1e-5)
    assert float(jnp.max(jnp.abs(forward))) > 1.0  # the comparison is not between near-zero logits

    def loss(p, apply, inputs):
        return sft.imitation_loss(apply(p, inputs), targets)

    g_forward = jax.grad(loss)(params, lambda p, x: models.apply(graphdef, p, x), toks)
    g_moments = jax.grad(loss)(params, from_stats, stats)
    for a, b in zip(jax.tree.leaves(g_forward), jax.tree.leaves(g_moments), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_the_bandit_task_trains_on_arm_moments_only_when_asked():
    cfg = mab.get_config("smoke")
    graphdef, _ = bandit.build_model(cfg, seed=0)
    assert bandit.BanditTask(None, graphdef, bandit.BanditSettings.from_config(cfg)).sft_features is None
    cfg.sft.form = "moments"
    task = bandit.BanditTask(None, graphdef, bandit.BanditSettings.from_config(cfg))
    actions, rewards = trajectories(horizon=cfg.env.horizon)
    actions = actions % cfg.env.num_actions
    toks = tokens.encode(actions, rewards, cfg.env.num_actions)
    _, params = bandit.build_model(cfg, seed=1)
    np.testing.assert_allclose(
        task.apply_features(params, task.sft_features(toks)), task.apply(params, toks), rtol=1e-5, atol=1e-5
    )


def smoke_parts(form):
    """(env, graphdef, params, optimizer, settings) of the MAB smoke config with sft.form = `form`."""
    cfg = mab.get_config("smoke")
    cfg.sft.form = form
    env, _ = bandit.build_envs(cfg)
    graphdef, params = bandit.build_model(cfg, seed=0)
    return env, graphdef, params, sft.optimizer_from_config(cfg), bandit.BanditSettings.from_config(cfg)


def test_a_bandit_iteration_with_moments_follows_the_forward_iteration():
    # The config's sft.form reaches the loop: the same rollouts (same key), then SFT in either form.
    out = {}
    for form in ("forward", "moments"):
        env, graphdef, params, optimizer, settings = smoke_parts(form)
        iteration = jax.jit(bandit.make_iteration(env, graphdef, optimizer, settings))
        out[form] = iteration(params, optimizer.init(params), jax.random.key(5))
    assert_same_iteration(out["forward"], out["moments"])


def test_moments_refuse_the_time_feature_and_other_models():
    cfg = mab.get_config("smoke")
    cfg.sft.form, cfg.model.time_feature = "moments", True
    with pytest.raises(ValueError, match="sft.form='moments' on bandits needs model.time_feature=False"):
        bandit.validate_config(cfg)
    cfg = mab.get_config("smoke")
    cfg.sft.form, cfg.model.name = "moments", "transformer"
    with pytest.raises(ValueError, match="sft.form='moments' needs model.name='linear_attention'"):
        bandit.validate_config(cfg)


def test_dense_moments_of_bandit_tokens_give_the_same_logits():
    graphdef, params = model()
    actions, rewards = trajectories()
    toks = tokens.encode(actions, rewards, A)
    dense = models.apply_moments(graphdef, params, linear_attention.prefix_second_moments(toks))
    compact = models.apply_statistic(
        graphdef, params, tokens.arm_moments(toks, A), lambda w: tokens.moments_projection(w, A)
    )
    np.testing.assert_allclose(compact, dense, rtol=1e-5, atol=1e-5)


def test_the_greedy_imitation_init_trains_in_the_configured_form_too(monkeypatch):
    traced, real = [], tokens.arm_moments
    monkeypatch.setattr(tokens, "arm_moments", lambda *a, **k: traced.append(1) or real(*a, **k))
    losses = {}
    for form in ("forward", "moments"):
        env, graphdef, params, optimizer, settings = smoke_parts(form)
        imitation = jax.jit(bandit.make_imitation(env, graphdef, optimizer, settings, 16, 5))
        losses[form] = imitation(params, optimizer.init(params), jax.random.key(2))[2]
        assert bool(traced) == (form == "moments")  # the statistic is computed only in the moments form
    np.testing.assert_allclose(losses["forward"], losses["moments"], rtol=1e-4)
