"""Adversarial RMFT: sequential FOL rollouts, adaptive scenarios, per-rollout tables, the driver and the attack CLI."""

import json
import os
import subprocess
import sys

import flax.nnx as nnx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import attack as attack_config
from experiments.configs import fol_single_layer
from rmft_jax import envs, models
from rmft_jax.core import selection, sft
from rmft_jax.studies import attack_study
from rmft_jax.tasks.fol import rollout
from rmft_jax.tasks.fol import sequential as fol_sequential
from rmft_jax.tasks.fol import task as fol
from rmft_jax.training import fol_train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def quiet(msg):
    """A log function that drops its message."""
    return None


MODELS = {"linear_attention": {}, "transformer": {"num_layers": 1, "d_model": 16}}


def build(name, num_actions, seed=0):
    """(graphdef, params) of a small model."""
    return nnx.split(models.make_model(name, num_actions, seed=seed, **MODELS[name]))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_sequential_rollout_equals_one_pass_on_oblivious_tables(name):
    batch, horizon, num_actions = 6, 9, 3
    graphdef, params = build(name, num_actions)
    key_table, key_u = jax.random.split(jax.random.key(0))
    table_BxTxA = jax.random.uniform(key_table, (batch, horizon, num_actions))
    uniforms_BxT = jax.random.uniform(key_u, (batch, horizon))
    paths, logits = fol_sequential.sequential_rollout(
        graphdef,
        params,
        lambda t, view: table_BxTxA[:, t],
        jnp.zeros((batch, 2), jnp.int32),
        horizon,
        num_actions,
        uniforms_BxT,
    )
    one_pass = models.apply(graphdef, params, table_BxTxA)
    np.testing.assert_allclose(logits, one_pass, atol=2e-5)
    np.testing.assert_array_equal(paths.tables_xTxA, table_BxTxA)
    expected_actions = rollout.inverse_cdf_sample(jax.nn.softmax(one_pass, axis=-1), uniforms_BxT)
    np.testing.assert_array_equal(paths.actions_xT, expected_actions)
    onehot = jax.nn.one_hot(paths.actions_xT, num_actions)
    realized = jnp.max(jnp.sum(table_BxTxA, 1), -1) - jnp.sum(onehot * table_BxTxA, (1, 2))
    np.testing.assert_allclose(paths.regret_x, realized, atol=1e-5)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_sequential_rollout_is_causal(name):
    batch, horizon, num_actions, cut = 4, 10, 3, 6
    graphdef, params = build(name, num_actions, seed=1)
    table = jax.random.uniform(jax.random.key(1), (batch, horizon, num_actions))
    changed = table.at[:, cut:].set(jax.random.uniform(jax.random.key(2), (batch, horizon - cut, num_actions)))
    uniforms = jax.random.uniform(jax.random.key(3), (batch, horizon))

    def run(tab):
        return fol_sequential.sequential_rollout(
            graphdef, params, lambda t, v: tab[:, t], jnp.zeros((batch, 2), jnp.int32), horizon, num_actions, uniforms
        )

    (p0, l0), (p1, l1) = run(table), run(changed)
    np.testing.assert_array_equal(l0[:, : cut + 1], l1[:, : cut + 1])  # round cut's policy sees rows < cut
    np.testing.assert_array_equal(p0.actions_xT[:, : cut + 1], p1.actions_xT[:, : cut + 1])
    assert not np.allclose(l0[:, cut + 1 :], l1[:, cut + 1 :])


def np_adversary(name, probs, counts, last):
    """The two default training adversaries and punish_last, in numpy."""
    r = np.ones(len(probs))
    if name == "least_likely":
        r = np.zeros(len(probs))
        r[np.argmin(probs)] = 1
    elif name == "all_but_most_likely":
        r[np.argmax(probs)] = 0
    else:
        r[last] = 0
    return r


def test_adaptive_training_rollouts_match_numpy_loop():
    num, rollouts, horizon, num_actions, eta = 4, 3, 10, 3, 1.2
    kinds = ("least_likely", "all_but_most_likely", "punish_last")
    graphdef, params = models.hedge_params(eta, num_actions)  # the model computes Hedge(eta) exactly
    scen = fol_sequential.sample_adaptive(jax.random.key(4), num, len(kinds), num_actions, (1.0, 1.0))
    key = jax.random.key(5)
    paths = fol_sequential.adaptive_rollouts(graphdef, params, scen, kinds, horizon, num_actions, rollouts, key)
    uniforms = np.asarray(jax.random.uniform(key, (num * rollouts, horizon))).reshape(num, rollouts, horizon)
    for m in range(num):
        for rollout_index in range(rollouts):
            table, counts, last, actions = np.zeros((horizon, num_actions)), np.zeros(num_actions), 0, []
            for t in range(horizon):
                cum = table[:t].sum(0)
                p = np.exp(eta * (cum - cum.max()))
                p /= p.sum()
                table[t] = np_adversary(kinds[int(scen.kind_M[m])], p, counts, last)
                a = min(int(np.sum(np.cumsum(p) <= uniforms[m, rollout_index, t] * p.sum())), num_actions - 1)
                counts[a] += 1
                last = a
                actions.append(a)
            np.testing.assert_allclose(paths.tables_xTxA[m, rollout_index], table, atol=1e-6)
            np.testing.assert_array_equal(paths.actions_xT[m, rollout_index], actions)
            regret = table.sum(0).max() - table[np.arange(horizon), actions].sum()
            assert float(paths.regret_x[m, rollout_index]) == pytest.approx(regret, abs=1e-5)


def test_env_draw_keeps_the_stream_and_shares_the_process():
    key = jax.random.key(6)
    for name in ("stochastic", "linear_trend", "sine_trend"):
        env = envs.make_fol(name, horizon=8, num_actions=3)
        np.testing.assert_array_equal(env.sample(key), env.draw(*jax.random.split(key)))
    stochastic = envs.make_fol("stochastic", horizon=200, num_actions=3, noise_std=0.05)
    tables = envs.sample_rollout_tables(stochastic, key, 4)
    assert not np.allclose(tables[0], tables[1])  # fresh noise per rollout ...
    np.testing.assert_allclose(tables.mean(1)[0], tables.mean(1)[1], atol=0.02)  # ... around the same means
    ftl = envs.sample_rollout_tables(envs.make_fol("ftl_adversarial", horizon=8, num_actions=3), key, 3)
    np.testing.assert_array_equal(ftl[0], ftl[2])  # no noise: one table


def test_weighted_loss_of_k_identical_rows_equals_the_averaged_target():
    logits = jax.random.normal(jax.random.key(7), (3, 5, 4))
    one_hot = jax.nn.one_hot(jax.random.randint(jax.random.key(8), (3, 2, 5), 0, 4), 4)  # k = 2 per scenario
    averaged = sft.imitation_loss(logits, one_hot.mean(1))
    rows = sft.imitation_loss(jnp.repeat(logits, 2, axis=0), one_hot.reshape(6, 5, 4), weights_M=jnp.full(6, 0.5))
    assert float(rows) == pytest.approx(float(averaged), rel=1e-6)


def adversarial_smoke(**rmft_fields):
    """The adversarial smoke config."""
    cfg = fol_single_layer.get_config("adversarial_smoke")
    for field, value in rmft_fields.items():
        cfg.rmft[field] = value
    return cfg


def test_independent_rewards_make_regret_and_reward_rank_differently():
    cfg = fol_single_layer.get_config("smoke")
    cfg.rmft.num_scenarios, cfg.rmft.num_rollouts, cfg.rmft.num_selected = 64, 8, 1
    for independent in (False, True):
        cfg.rmft.independent_rewards = independent
        s, env = fol.FOLSettings.from_config(cfg), fol.build_env(cfg)
        graphdef, params = fol.build_model(cfg, seed=0)
        phases = fol.make_phases(env, graphdef, fol.build_optimizer(cfg), s)
        data = jax.jit(phases.rollout)(params, jax.random.key(9), jax.random.key(10)).data
        part = data.paths if independent else data.shared
        regret = part.regret_x if independent else part.regret_MxL
        reward = part.reward_x if independent else part.reward_MxL
        by_regret = selection.top_k_indices(-regret, 1)
        by_reward = selection.top_k_indices(reward, 1)
        same = np.mean(np.asarray(by_regret == by_reward))
        assert (same < 0.95) if independent else (same == 1.0), (independent, same)


def test_adversarial_iteration_validates_and_trains(tmp_path):
    cfg = adversarial_smoke()
    s = fol.FOLSettings.from_config(cfg)
    assert (s.oblivious_scenarios, s.attack_scenarios, s.adaptive_scenarios) == (6, 5, 5)
    workdir = str(tmp_path / "adv")
    results = fol_train.run(cfg, workdir, log=quiet)
    assert np.isfinite(results["final"]["eval_regret"])
    w = results["worst_case"]
    assert 0 < w["hedge_tuned"] <= w["horizon"] and 0 < w["model"] <= w["horizon"]
    assert fol_train.run(cfg, workdir, log=quiet)["final"] == results["final"]  # finished: reported, not redone
    bad = adversarial_smoke()
    for field, value, match in (
        ("adaptive_share", 0.8, "<= 1"),
        ("kinds", ("nope",), "adversary.kinds"),
        ("adversary_prob", (0.9, 0.2), "adversary_prob"),
        ("attack_steps", 0, "attack_steps"),
    ):
        cfg_bad = adversarial_smoke()
        cfg_bad.adversary[field] = value
        with pytest.raises(ValueError, match=match):
            fol.validate_config(cfg_bad)
    bad.parallel.data_axis_size = 2
    with pytest.raises(ValueError, match="one device"):
        fol.validate_config(bad)


@pytest.mark.slow  # trains a smoke run, then attacks six methods: about a minute on 2 cores
def test_attack_study_writes_worst_regret_per_method(tmp_path):
    workdir = str(tmp_path / "run")
    fol_train.run(fol_single_layer.get_config("smoke"), workdir, log=quiet)
    cfg = attack_config.get_config("smoke")
    cfg.horizon_factors = (1.0,)  # one horizon keeps the test short; the exponent then is NaN
    out = attack_study.run(workdir, cfg, log=quiet)
    with open(os.path.join(workdir, "attack.json")) as fh:
        saved = json.load(fh)
    assert os.path.exists(os.path.join(workdir, "worst_case.png"))
    assert set(saved["worst_regret"]) == {"model", "hedge_tuned", "hedge_theory", "hedge_anytime", "ftl", "l2_ftrl"}
    assert saved["horizons"] == [12] and saved["budget"]["restarts"] == 4
    for method, row in saved["worst_regret"].items():
        for horizon in saved["horizons"]:
            assert 0 < row[str(horizon)] <= horizon + 1e-4, (method, horizon)
    assert out["growth_exponent"].keys() == saved["worst_regret"].keys()
    assert saved["worst_regret"]["ftl"]["12"] >= 12 / 2 - 2  # the attack still finds FTL's linear regret
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "experiments.attack",
            f"--workdir={workdir}",
            "--config=experiments/configs/attack.py:smoke",
            "--config.restarts=0",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode != 0 and "restarts" in bad.stderr and "Traceback" not in bad.stderr
