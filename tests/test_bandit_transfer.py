"""Bandit transfer tests: the test instances, and a uniform policy's regret against its closed form."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import mab, nsmab
from rmft_jax.tasks.bandit import task as bandit
from rmft_jax.tasks.bandit import transfer as bandit_transfer


def test_transfer_instances_and_a_uniform_policy_match_the_closed_form():
    cfg = mab.get_config("smoke")
    cfg.eval.transfer = ("2T", "other_task")
    cfg.eval.num_scenarios = 4000
    task, env = bandit_transfer.test_env(cfg, "2T")
    assert task == "mab" and env.horizon == 2 * cfg.env.horizon and env.gap == cfg.eval.env.gap
    other, ns_env = bandit_transfer.test_env(cfg, "other_task")
    assert other == "nsmab" and ns_env.horizon == cfg.env.horizon
    assert bandit_transfer.test_env(nsmab.get_config("smoke"), "other_task")[0] == "mab"
    graphdef, params = bandit.build_model(cfg, seed=0)
    zeros_S = jax.tree.map(lambda x: jnp.zeros((2,) + x.shape, x.dtype), params)  # logits 0: uniform play, 2 seeds
    out = bandit_transfer.evaluate(cfg, graphdef, zeros_S, bandit.BanditSettings.from_config(cfg), jax.random.key(0))
    # Uniform play on the gap instance (one arm at 0.5 + g/2, the rest at 0.5 - g/2): per-round regret g (K-1)/K.
    k, g, horizon = cfg.env.num_actions, cfg.eval.env.gap, 2 * cfg.env.horizon
    assert out["2T"]["horizon"] == horizon
    assert out["2T"]["model"]["mean"] == pytest.approx(horizon * g * (k - 1) / k, rel=0.02)
    np.testing.assert_allclose(
        out["2T"]["ratio"]["mean"], out["2T"]["model"]["mean"] / out["2T"]["references"]["thompson"], rtol=1e-6
    )
    assert set(out["other_task"]["references"]) == {"sw_ucb", "ucb1"}


def test_transfer_rejects_unknown_tests_and_a_time_aware_model_at_other_horizons():
    cfg = mab.get_config("smoke")
    cfg.eval.transfer = ("8T",)
    with pytest.raises(ValueError, match="eval.transfer must name"):
        bandit.validate_config(cfg)
    cfg.eval.transfer, cfg.model.time_feature = ("2T",), True
    with pytest.raises(ValueError, match="horizon-free"):
        bandit.validate_config(cfg)
