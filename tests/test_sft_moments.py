"""sft.form='moments': the single layer's SFT on prefix second moments equals SFT on its forward pass.

logits_t = b + V S_t K^T Q c with S_t = sum_{i<t} x_i x_i^T, so the statistic computed once per update gives the
forward pass's logits and gradients up to float rounding (checked in float64 exactly, in float32 to its rounding).
"""

import flax.nnx as nnx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import fol_single_layer
from rmft_jax import models
from rmft_jax.core import sft
from rmft_jax.core.loop import SFTBatch
from rmft_jax.models import linear_attention
from rmft_jax.tasks import settings
from rmft_jax.tasks.fol import task as fol


def model(num_actions=5, **kwargs):
    return nnx.split(models.make_model("linear_attention", num_actions, seed=3, init_scale=0.5, **kwargs))


def test_prefix_second_moments_are_the_exclusive_sums_of_outer_products():
    rewards = np.random.default_rng(0).random((2, 7, 4))
    got = np.asarray(linear_attention.prefix_second_moments(rewards))
    tokens = np.concatenate([rewards, np.ones((2, 7, 1))], axis=-1)
    for t in range(7):
        want = sum(np.einsum("bi,bj->bij", tokens[:, i], tokens[:, i]) for i in range(t)) if t else 0.0
        np.testing.assert_allclose(got[:, t], want * np.ones((2, 5, 5)), rtol=1e-6)


@pytest.mark.parametrize("learned_query", [False, True])
def test_logits_and_gradients_from_moments_equal_the_forward_pass(learned_query):
    graphdef, params = model(learned_query=learned_query)
    rewards = jax.random.uniform(jax.random.key(1), (6, 40, 5))
    targets = jax.nn.one_hot(jax.random.randint(jax.random.key(2), (6, 40), 0, 5), 5)
    moments = linear_attention.prefix_second_moments(rewards)
    forward = models.apply(graphdef, params, rewards)
    np.testing.assert_allclose(models.apply_moments(graphdef, params, moments), forward, rtol=2e-5, atol=2e-5)

    def loss(p, apply, inputs):
        return sft.imitation_loss(apply(graphdef, p, inputs), targets)

    g_forward = jax.grad(loss)(params, models.apply, rewards)
    g_moments = jax.grad(loss)(params, models.apply_moments, moments)
    for a, b in zip(jax.tree.leaves(g_forward), jax.tree.leaves(g_moments), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_in_float64_the_two_forms_agree_to_rounding():
    with jax.enable_x64(True):
        graphdef, params = model()
        params = jax.tree.map(lambda x: x.astype(jnp.float64), params)
        rewards = jax.random.uniform(jax.random.key(1), (3, 30, 5), dtype=jnp.float64)
        moments = linear_attention.prefix_second_moments(rewards)  # float32 by construction
        tokens = jnp.concatenate([rewards, jnp.ones((3, 30, 1))], axis=-1)
        outer = tokens[..., :, None] * tokens[..., None, :]
        moments64 = jnp.pad(jnp.cumsum(outer, axis=-3)[:, :-1], [(0, 0), (1, 0), (0, 0), (0, 0)])
        np.testing.assert_allclose(moments, moments64, rtol=1e-6)
        np.testing.assert_allclose(
            models.apply_moments(graphdef, params, moments64), models.apply(graphdef, params, rewards), rtol=1e-12
        )


def test_an_sft_update_with_moments_follows_the_forward_update():
    graphdef, params = model()
    optimizer = sft.make_optimizer(3e-3)
    rewards = jax.random.uniform(jax.random.key(1), (8, 20, 5))
    targets = jax.nn.one_hot(jax.random.randint(jax.random.key(2), (8, 20), 0, 5), 5)
    batch = SFTBatch(rewards, targets, None)

    def apply(p, x):
        return models.apply(graphdef, p, x)

    def apply_moments(p, s):
        return models.apply_moments(graphdef, p, s)

    forward = sft.make_update(apply, optimizer, 50)(params, optimizer.init(params), batch)
    moments = sft.make_update(apply_moments, optimizer, 50, 1.0, linear_attention.prefix_second_moments)(
        params, optimizer.init(params), batch
    )
    np.testing.assert_allclose(forward[2], moments[2], rtol=1e-4)  # the 50 losses
    for a, b in zip(jax.tree.leaves(forward[0]), jax.tree.leaves(moments[0]), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def assert_same_iteration(forward, moments):
    """Two iterations' (params, opt_state, metrics) from the same key: the same play, then SFT to float rounding."""
    (p_f, _, m_f), (p_m, _, m_m) = forward, moments
    np.testing.assert_allclose(m_f["rollout_regret"], m_m["rollout_regret"])  # same play before SFT
    np.testing.assert_allclose(m_f["sft_loss"], m_m["sft_loss"], rtol=1e-4)
    assert float(m_f["sft_loss"]) < float(m_f["sft_loss_first"])  # SFT moved the loss at all
    for a, b in zip(jax.tree.leaves(p_f), jax.tree.leaves(p_m), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def test_a_fol_iteration_with_moments_follows_the_forward_iteration():
    # The config's sft.form reaches the loop: the same rollouts (same key), then SFT in either form.
    out = {}
    for form in settings.SFT_FORMS:
        cfg = fol_single_layer.get_config("smoke")
        cfg.sft.form = form
        s = fol.FOLSettings.from_config(cfg)
        graphdef, params = fol.build_model(cfg, seed=0)
        optimizer = fol.build_optimizer(cfg)
        iteration = fol.make_iteration(fol.build_env(cfg), graphdef, optimizer, s)
        out[form] = iteration(params, optimizer.init(params), jax.random.key(5))
    assert_same_iteration(out["forward"], out["moments"])


def test_moments_need_the_single_layer():
    cfg = fol_single_layer.get_config("smoke")
    cfg.sft.form, cfg.model.name = "moments", "transformer"
    with pytest.raises(ValueError, match="sft.form='moments' needs model.name='linear_attention'"):
        fol.validate_config(cfg)
