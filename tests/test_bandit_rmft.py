"""Bandit RMFT: tokens, cached sequential rollouts, causality, metrics, config validation, the driver end to end."""

import functools
import json
import os
import shutil
import tempfile

import chex
import flax.nnx as nnx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from absl.testing import parameterized

from benchmarks.bench_bandit_rollout import uncached_rollout  # the prefix-recomputing reference
from experiments.configs import mab, nsmab
from rmft_jax import envs, load_policy, metrics, models, regret
from rmft_jax.studies import arms
from rmft_jax.tasks.bandit import evaluation as bandit_eval
from rmft_jax.tasks.bandit import rollout as bandit_rollout
from rmft_jax.tasks.bandit import task as bandit
from rmft_jax.tasks.bandit import tokens as bandit_tokens
from rmft_jax.tasks.fol import task as fol
from rmft_jax.training import bandit_train
from tests import number_fixture


def quiet(msg):
    """A log function that drops its message."""
    return None


MODEL_CASES = (("linear_attention", False), ("linear_attention", True), ("transformer", False), ("transformer", True))


def small_model(name, time_feature, num_actions=4):
    """(graphdef, params) of a small model taking bandit tokens; larger init so policies are far from uniform."""
    dim = bandit_tokens.token_dim(num_actions, time_feature)
    kwargs = {"init_scale": 1.0} if name == "linear_attention" else {"num_layers": 2, "d_model": 16}
    return nnx.split(models.make_model(name, num_actions, seed=3, input_dim=dim, **kwargs))


def reward_tables(key, num=6, horizon=9, num_actions=4):
    """Bernoulli(0.5) reward tables (N, T, A)."""
    return jax.random.bernoulli(key, 0.5, (num, horizon, num_actions)).astype(jnp.float32)


class TokenTest(chex.TestCase):
    def test_tokens_hold_one_hot_action_and_reward(self):
        tokens = bandit_tokens.encode(jnp.array([[2, 0, 2]]), jnp.array([[1.0, 0.0, 0.5]]), 3, time_feature=True)
        np.testing.assert_allclose(
            tokens[0], [[0, 0, 1, 0, 0, 1, 0], [1, 0, 0, 0, 0, 0, 1 / 3], [0, 0, 1, 0, 0, 0.5, 2 / 3]], atol=1e-6
        )
        self.assertEqual(bandit_tokens.token_dim(3, True), 7)
        single = bandit_tokens.encode(jnp.array([0]), jnp.array([0.0]), 3, True, horizon=3, first_round=1)
        np.testing.assert_allclose(single[0], tokens[0, 1], atol=1e-6)


class CachedRolloutTest(parameterized.TestCase):
    @parameterized.parameters(*MODEL_CASES)
    def test_cached_rollout_equals_uncached_forward_pass(self, name, time_feature):
        graphdef, params = small_model(name, time_feature)
        rewards = reward_tables(jax.random.key(0))
        traj = jax.jit(lambda p, r, k: bandit_rollout.rollout(graphdef, p, r, k, 1.0, time_feature))(
            params, rewards, jax.random.key(1)
        )
        chex.assert_shape(traj.actions_BxT, (6, 9))
        # Teacher forcing on the rollout's own actions reproduces the logits it sampled from.
        full = bandit_rollout.teacher_forced_logits(
            graphdef, params, traj.actions_BxT, traj.rewards_BxT, 4, time_feature
        )
        np.testing.assert_allclose(full, traj.logits_BxTxA, atol=1e-5)
        # A rollout that recomputes the prefix every round makes the same choices with the same keys.
        actions, observed, logits = uncached_rollout(graphdef, params, rewards, jax.random.key(1), time_feature)
        np.testing.assert_array_equal(actions, traj.actions_BxT)
        np.testing.assert_allclose(observed, traj.rewards_BxT)
        np.testing.assert_allclose(logits, traj.logits_BxTxA, atol=1e-5)
        self.assertGreater(len(np.unique(np.asarray(traj.actions_BxT))), 1)

    @parameterized.parameters(MODEL_CASES[1], MODEL_CASES[2])
    def test_a_reward_revealed_at_t_cannot_change_actions_before_t_plus_1(self, name, time_feature):
        graphdef, params = small_model(name, time_feature)
        rewards = reward_tables(jax.random.key(2))
        roll = jax.jit(lambda r: bandit_rollout.rollout(graphdef, params, r, jax.random.key(5), 1.0, time_feature))
        base = roll(rewards)
        for t in (0, 4, 8):
            changed = roll(rewards.at[:, t:].set(1.0 - rewards[:, t:]))
            np.testing.assert_array_equal(changed.actions_BxT[:, : t + 1], base.actions_BxT[:, : t + 1])
            np.testing.assert_allclose(changed.logits_BxTxA[:, : t + 1], base.logits_BxTxA[:, : t + 1], atol=1e-6)
            if t < 8:  # the flipped reward is seen from round t + 1 on
                self.assertFalse(np.allclose(changed.logits_BxTxA[:, t + 1], base.logits_BxTxA[:, t + 1]))


class MetricsTest(chex.TestCase):
    def test_dynamic_regret_of_the_oracle_is_zero(self):
        env = envs.make_nsmab("abrupt", horizon=60, num_actions=4, variation_budget=3.0, num_changes=5)
        scen = envs.sample_batch(env, jax.random.key(0), 50)
        oracle_NxT = jnp.argmax(scen.means_TxA, axis=-1)
        np.testing.assert_allclose(regret.dynamic_regret(scen.means_TxA, oracle_NxT), 0.0, atol=1e-6)
        self.assertEqual(bandit_eval.change_adaptation(scen.means_TxA, oracle_NxT), 1.0)
        stay_NxT = jnp.broadcast_to(oracle_NxT[:, :1], oracle_NxT.shape)  # never moves: regret > 0
        self.assertGreater(float(jnp.mean(regret.dynamic_regret(scen.means_TxA, stay_NxT)[:, -1])), 0.5)

    def test_change_adaptation_against_a_numpy_loop(self):
        rng = np.random.default_rng(0)
        means = rng.random((30, 40, 3)).repeat(5, axis=1)[:, :40]  # best arm changes every 5 rounds (mostly)
        actions = rng.integers(0, 3, (30, 40))
        shares = []
        best = means.argmax(-1)
        for n in range(30):
            for t in range(1, 40):
                if best[n, t] != best[n, t - 1]:
                    window = range(t, min(t + 20, 40))
                    shares.append(np.mean([actions[n, s] == best[n, s] for s in window]))
        self.assertAlmostEqual(bandit_eval.change_adaptation(means, actions), np.mean(shares), places=10)

    def test_method_stats_against_numpy_references(self):
        rng = np.random.default_rng(1)
        means = np.broadcast_to(rng.random((40, 1, 4)), (40, 16, 4)).astype(np.float32)
        actions = rng.integers(0, 4, (40, 16)).astype(np.int32)
        actions[:5] = means[:5, 0].argmin(-1)[:, None]  # a few runs that never touch the best arm
        observed = rng.random((40, 16)).astype(np.float32)
        curves = regret.pseudo_regret(means, actions)
        stats = bandit_eval.method_stats(curves, actions, observed, means, "mab")
        best = means[:, -1].argmax(-1)
        gaps = means.max(-1) - np.take_along_axis(means, actions[..., None], -1)[..., 0]
        self.assertAlmostEqual(stats["regret"], gaps.sum(1).mean(), places=4)
        self.assertAlmostEqual(
            stats["suff_fail_freq"]["half"], np.mean([(actions[n, 8:] != best[n]).all() for n in range(40)]), places=6
        )
        counts = np.stack([(actions[:, :8] == a).sum(1) for a in range(4)], 1)
        self.assertAlmostEqual(stats["k_min_frac"]["half"], np.mean(4 * counts.min(1) / 8), places=6)
        self.assertAlmostEqual(stats["greedy_frac"]["end"], float(metrics.greedy_frac(actions, observed, 4)), places=6)
        self.assertGreaterEqual(stats["suff_fail_freq"]["half"], 5 / 40)


def tiny(experiment="mab", **overrides):
    """The smoke config of an experiment with dotted-name overrides."""
    cfg = (mab if experiment == "mab" else nsmab).get_config("smoke")
    for name, value in overrides.items():
        *sections, field = name.split(".")
        node = cfg
        for section in sections:
            node = node[section]
        node[field] = value
    return cfg


class IterationTest(parameterized.TestCase):
    @parameterized.parameters("regret", "random")
    def test_iteration_runs_and_regret_selection_keeps_better_rollouts(self, rule):
        cfg = tiny(**{"rmft.selection": rule, "rmft.num_selected": 1, "rmft.rollout_temperature": 1.5})
        settings = bandit.BanditSettings.from_config(cfg)
        env, _ = bandit.build_envs(cfg)
        graphdef, params = bandit.build_model(cfg, seed=0)
        optimizer = fol.build_optimizer(cfg)
        iteration = jax.jit(bandit.make_iteration(env, graphdef, optimizer, settings))
        new_params, _, out = iteration(params, optimizer.init(params), jax.random.key(0))
        self.assertTrue(bool(out["finite"]))
        moved = max(jax.tree.leaves(jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()), new_params, params)))
        self.assertGreater(moved, 0.0)
        if rule == "regret":
            self.assertLess(float(out["selected_regret"]), float(out["rollout_regret"]))


class ConfigValidationTest(parameterized.TestCase):
    @parameterized.named_parameters(
        ("k_above_L", {"rmft.num_selected": 9, "rmft.num_rollouts": 4}, "cannot exceed rmft.num_rollouts"),
        ("horizon_below_2", {"env.horizon": 1}, "env.horizon must be an integer >= 2"),
        ("unknown_task", {"task": "fol"}, "unknown task"),
        ("unknown_scenario", {"env.name": "bogus"}, "unknown mab scenario.*'bogus'"),
        ("bad_gap_range", {"env.gap_range": (0.5, 0.1)}, "low <= high"),
        ("zero_lr", {"sft.learning_rate": 0.0}, "sft.learning_rate must be positive"),
        ("zero_rollout_temperature", {"rmft.rollout_temperature": 0.0}, "rollout_temperature must be positive"),
        ("unknown_selection", {"rmft.selection": "best"}, "unknown rmft.selection"),
        ("unknown_baseline", {"eval.baselines": ("ucb1", "oracle")}, "unknown baseline"),
        ("no_seeds", {"inits.scratch": 0, "inits.greedy": 0}, "trains nothing"),
    )
    def test_bad_config_fails_before_compiling(self, overrides, message):
        calls = []
        original = bandit.make_iteration
        bandit.make_iteration = lambda *a, **k: calls.append(1) or original(*a, **k)
        try:
            with tempfile.TemporaryDirectory() as tmp, self.assertRaisesRegex(ValueError, message):
                bandit_train.run(tiny(**overrides), os.path.join(tmp, "run"), log=quiet)
        finally:
            bandit.make_iteration = original
        self.assertEqual(calls, [])

    def test_nsmab_budget_is_validated(self):
        with self.assertRaisesRegex(ValueError, "variation_budget must be positive"):
            bandit.validate_config(tiny("nsmab", **{"env.variation_budget": -1.0}))


def without_timing(results):
    """Results minus wall-clock fields, which differ between runs."""
    out = json.loads(json.dumps(results))
    out.pop("compile_seconds"), out.pop("train_seconds")  # the driver's totals over the inits
    for run in out["runs"].values():
        run.pop("compile_seconds"), run.pop("train_seconds")
        for record in run["history"]:
            record.pop("seconds")
    return out


@functools.cache
def _mab_run():
    """An uninterrupted MAB smoke run (scratch and greedy inits), once per worker process (xdist can tear a module
    fixture down between its tests): a copy of the session's shared smoke run, the one the number fixture checks
    (`experiments.mab`, tests/number_fixture.run_shared), or run here when the session has none."""
    workdir = tempfile.mkdtemp(prefix="rmft_mab_")
    shared = os.environ.get("RMFT_JAX_TEST_RUNS")
    if not shared:
        return workdir, bandit_train.run(tiny(), workdir, log=quiet)
    output = number_fixture.run_shared(number_fixture.SMOKE_RUNS, shared, "mab")
    shutil.copytree(os.path.dirname(output), workdir, dirs_exist_ok=True)  # this worker's own copy to write in
    with open(os.path.join(workdir, "results.json")) as fh:
        return workdir, json.load(fh)


@pytest.fixture
def mab_run():
    """An uninterrupted MAB smoke run (shared by the tests of this module)."""
    return _mab_run()


METHOD_KEYS = {"regret", "beta_hat", "p_reg", "suff_fail_freq", "k_min_frac", "greedy_frac"}


def test_mab_results_figures_and_policy(mab_run):
    workdir, results = mab_run
    for name in ("results.json", "config.json", "regret_curves.png", "training_curves.png"):
        assert os.path.exists(os.path.join(workdir, name)), name
    assert set(results["methods"]) == {
        "initial",
        "rmft",
        "greedy_init",
        "greedy_init_rmft",
        "ucb1",
        "thompson",
        "greedy",
        "exp3",
        "kl_ucb",
        "gap_bayes_greedy",
    }
    # Graded: the best prior-free algorithm and the informed limit are the minima over their kinds.
    assert results["kinds"]["kl_ucb"] == "prior_free" and results["kinds"]["gap_bayes_greedy"] == "informed"
    grade, methods = results["grade"], results["methods"]
    prior_free = {n: methods[n]["regret"] for n in ("ucb1", "thompson", "greedy", "exp3", "kl_ucb")}
    assert grade["best_prior_free"] == min(prior_free, key=prior_free.get) and grade["limit"] == "gap_bayes_greedy"
    initial, final, limit = methods["initial"]["regret"], methods["rmft"]["regret"], grade["limit_regret"]
    assert grade["gap_closed"] == pytest.approx((initial - final) / (initial - limit))
    assert set(results["grades"]) == {"rmft", "greedy_init_rmft"}
    for entry in results["methods"].values():
        assert METHOD_KEYS <= set(entry)
        assert set(entry["suff_fail_freq"]) == {"half", "end"}
    assert results["horizon"] == 12 and results["num_actions"] == 5
    assert len(results["methods"]["greedy_init_rmft"]["per_seed"]) == 2
    policy = load_policy(workdir)
    actions, observed = policy.rollout(jnp.ones((3, 12, 5)), jax.random.key(0))
    probs = policy(actions, observed)
    chex.assert_shape(probs, (3, 12, 5))
    np.testing.assert_allclose(np.asarray(probs).sum(-1), 1.0, atol=1e-5)
    assert load_policy(workdir, init="greedy", seed_index=1)(actions, observed).shape == (3, 12, 5)
    with pytest.raises(ValueError, match="seed_index"):
        load_policy(workdir, init="greedy", seed_index=2)


def test_finished_run_is_not_redone(mab_run):
    workdir, results = mab_run
    lines = []
    again = bandit_train.run(tiny(), workdir, log=lines.append)
    assert any("already finished" in line for line in lines) and again == json.loads(json.dumps(results))


def test_changed_references_regrade_without_retraining(mab_run, tmp_path):
    workdir, results = mab_run
    copy = str(tmp_path / "copy")
    shutil.copytree(workdir, copy)  # the shared fixture's workdir stays as it was
    references = (*tiny().eval.references, "eps_greedy")
    lines = []
    again = bandit_train.run(tiny(**{"eval.references": references}), copy, log=lines.append)
    assert any("re-evaluating" in line for line in lines) and not any("already finished" in line for line in lines)
    assert "eps_greedy" in again["methods"] and again["kinds"]["eps_greedy"] == "prior_free"
    before = json.loads(json.dumps(results))
    for name in before["methods"]:  # trained models and earlier references: the same numbers
        assert again["methods"][name] == before["methods"][name], name
    assert without_timing(again)["runs"] == without_timing(before)["runs"]
    prior_free = {n: m["regret"] for n, m in again["methods"].items() if again["kinds"].get(n) == "prior_free"}
    assert again["grade"]["best_prior_free"] == min(prior_free, key=prior_free.get)


def test_study_arm_dirs_do_not_depend_on_references():
    cfg = tiny()
    graded = tiny(**{"eval.references": (*cfg.eval.references, "eps_greedy")})
    assert arms.arm_tag(cfg) == arms.arm_tag(graded)
    assert arms.arm_tag(cfg) != arms.arm_tag(tiny(**{"rmft.num_selected": 1}))


def test_resume_equals_uninterrupted_run(tmp_path):
    scratch_only = {"inits.greedy": 0}
    uninterrupted = bandit_train.run(tiny(**scratch_only), str(tmp_path / "full"), log=quiet)
    resumed_dir = str(tmp_path / "resumed")
    bandit_train.run(tiny(**scratch_only, **{"rmft.num_iterations": 1}), resumed_dir, log=quiet)
    os.remove(os.path.join(resumed_dir, "results.json"))  # a killed run has written no results
    lines = []
    resumed = bandit_train.run(tiny(**scratch_only), resumed_dir, log=lines.append)
    assert any("resumed from checkpoint 1" in line for line in lines)

    def strip(r):
        return {k: v for k, v in without_timing(r).items() if k != "config"}

    assert strip(resumed) == strip(uninterrupted)


def test_nsmab_run_reports_dynamic_regret_and_adaptation(tmp_path):
    workdir = str(tmp_path / "nsmab")
    results = bandit_train.run(tiny("nsmab"), workdir, log=quiet)
    assert set(results["methods"]) == {
        "initial",
        "rmft",
        "ucb1",
        "thompson",
        "greedy",
        "exp3",
        "sw_ucb",
        "d_ucb",
        "ucb1_restart",
        "abrupt_bayes_greedy",
    }
    # The restart oracle reads the true change points: an upper reference, never the best prior-free algorithm.
    assert results["kinds"]["ucb1_restart"] == "oracle" and results["grade"]["best_prior_free"] != "ucb1_restart"
    assert results["grade"]["limit"] == "abrupt_bayes_greedy"
    assert results["reference_hparams"]["abrupt_bayes_greedy"]["num_changes"] == results["config"]["env"]["num_changes"]
    assert results["variation_budget"] == 2.0
    for entry in results["methods"].values():
        assert METHOD_KEYS | {"adapt_share"} <= set(entry)
        assert 0.0 <= entry["adapt_share"] <= 1.0
    assert os.path.exists(os.path.join(workdir, "arm_choices.png"))
