"""The RMFT pieces: rollouts, top-k selection, SFT, one iteration, config validation."""

import os
import tempfile

import chex
import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import parameterized

from experiments.configs import fol_single_layer
from rmft_jax import envs, models, regret
from rmft_jax.core import selection, sft
from rmft_jax.tasks.fol import rollout
from rmft_jax.tasks.fol import task as fol


def tiny_config(**overrides):
    """The smoke config with dotted-name overrides."""
    cfg = fol_single_layer.get_config("smoke")
    for name, value in overrides.items():
        section, field = name.split(".")
        cfg[section][field] = value
    return cfg


class RolloutTest(chex.TestCase):
    def setUp(self):
        super().setUp()
        k_r, k_l = jax.random.split(jax.random.key(0))
        self.rewards_MxTxA = jax.random.uniform(k_r, (6, 15, 4))
        self.logits_MxTxA = 2 * jax.random.normal(k_l, (6, 15, 4))

    def test_sampled_rollouts_regret_is_realized_regret_of_their_actions(self):
        traj = rollout.fol_rollouts(self.logits_MxTxA, self.rewards_MxTxA, jax.random.key(1), 5, sampler="gumbel")
        chex.assert_shape(traj.targets_MxLxTxA, (6, 5, 15, 4))
        actions_MxLxT = jnp.argmax(traj.targets_MxLxTxA, axis=-1)
        expected = regret.realized_regret(
            jnp.broadcast_to(self.rewards_MxTxA[:, None], traj.targets_MxLxTxA.shape), actions_MxLxT
        )[..., -1]
        np.testing.assert_allclose(traj.regret_MxL, expected, atol=1e-5)
        np.testing.assert_allclose(traj.targets_MxLxTxA.sum(-1), 1.0)
        # The L rollouts of a scenario share its table: regret + reward is the best action's total.
        np.testing.assert_allclose(
            traj.regret_MxL + traj.reward_MxL,
            np.broadcast_to(self.rewards_MxTxA.sum(1).max(-1)[:, None], (6, 5)),
            atol=1e-5,
        )

    def test_sampled_action_frequencies_follow_the_policy(self):
        logits_1xTxA = jnp.broadcast_to(jnp.array([0.0, 1.0, 2.0, -1.0]), (1, 4000, 4))
        traj = rollout.fol_rollouts(
            logits_1xTxA, jnp.zeros((1, 4000, 4)), jax.random.key(2), 2, temperature=2.0, sampler="gumbel"
        )
        freq = np.asarray(traj.targets_MxLxTxA.mean(axis=(0, 1, 2)))
        np.testing.assert_allclose(freq, jax.nn.softmax(jnp.array([0.0, 1.0, 2.0, -1.0]) / 2.0), atol=0.015)

    def test_logit_noise_rollouts_regret_is_expected_regret_of_their_policies(self):
        traj = rollout.fol_rollouts(
            self.logits_MxTxA,
            self.rewards_MxTxA,
            jax.random.key(3),
            3,
            exploration="logit_noise",
            noise_std=0.5,
            target="policy",
            sampler="gumbel",
        )
        expected = regret.static_regret(
            jnp.broadcast_to(self.rewards_MxTxA[:, None], traj.targets_MxLxTxA.shape), traj.targets_MxLxTxA
        )[..., -1]
        np.testing.assert_allclose(traj.regret_MxL, expected, atol=1e-4)
        self.assertFalse(np.allclose(traj.targets_MxLxTxA[:, 0], traj.targets_MxLxTxA[:, 1]))
        # Without noise every trajectory's policy is the model's.
        clean = rollout.fol_rollouts(
            self.logits_MxTxA, self.rewards_MxTxA, jax.random.key(3), 3, target="policy", sampler="gumbel"
        )
        np.testing.assert_allclose(clean.targets_MxLxTxA[:, 2], jax.nn.softmax(self.logits_MxTxA), atol=1e-6)


class SelectionTest(parameterized.TestCase):
    @parameterized.parameters(1, 3, 8)
    def test_top_k_keeps_exactly_the_k_lowest_regret(self, k):
        regret_MxL = np.asarray(jax.random.permutation(jax.random.key(k), 40 * 8)).reshape(40, 8).astype(np.float32)
        scores = selection.selection_scores("regret", jnp.asarray(regret_MxL), -jnp.asarray(regret_MxL), None)
        got = np.asarray(selection.top_k_indices(scores, k))
        expected = np.argsort(regret_MxL, axis=1)[:, :k]
        np.testing.assert_array_equal(np.sort(got, 1), np.sort(expected, 1))
        picked = np.asarray(selection.gather_rollouts(jnp.asarray(regret_MxL), jnp.asarray(got)))
        np.testing.assert_array_equal(np.sort(picked, 1), np.sort(regret_MxL, 1)[:, :k])

    def test_reward_rule_keeps_highest_reward_and_random_rule_is_a_subset(self):
        reward_MxL = jax.random.normal(jax.random.key(0), (30, 6))
        scores = selection.selection_scores("reward", jnp.zeros((30, 6)), reward_MxL, None)
        got = np.asarray(selection.top_k_indices(scores, 2))
        np.testing.assert_array_equal(np.sort(got, 1), np.sort(np.argsort(-np.asarray(reward_MxL), 1)[:, :2], 1))
        rand = np.asarray(
            selection.top_k_indices(
                selection.selection_scores("random", jnp.zeros((30, 6)), reward_MxL, jax.random.key(1)), 3
            )
        )
        self.assertTrue(all(len(set(row)) == 3 for row in rand))
        self.assertGreater(len({tuple(sorted(row)) for row in rand}), 5)  # not always the same choice


class SFTTest(parameterized.TestCase):
    def test_sft_lowers_the_loss_on_a_fixed_batch(self):
        graphdef, params = nnx_split("linear_attention")
        rewards = jax.random.uniform(jax.random.key(0), (32, 20, 5))
        targets = jax.nn.one_hot(jnp.argmax(jnp.cumsum(rewards, 1), -1), 5)  # imitate "follow the leader"
        optimizer = sft.make_optimizer(1e-2)

        def apply_fn(p, x):
            return models.apply(graphdef, p, x)

        before = sft.imitation_loss(apply_fn(params, rewards), targets)
        params, _, losses = jax.jit(lambda p, o: sft.sft_steps(apply_fn, p, o, optimizer, rewards, targets, 30))(
            params, optimizer.init(params)
        )
        after = sft.imitation_loss(apply_fn(params, rewards), targets)
        self.assertLess(float(after), float(before) - 0.05)
        np.testing.assert_allclose(losses[0], before, rtol=1e-5)

    def test_loss_against_average_target_equals_mean_of_per_trajectory_losses(self):
        logits = jax.random.normal(jax.random.key(0), (4, 9, 3))
        onehots = jax.nn.one_hot(jax.random.randint(jax.random.key(1), (4, 2, 9), 0, 3), 3)  # k = 2
        per_traj = np.mean([sft.imitation_loss(logits, onehots[:, j]) for j in range(2)])
        np.testing.assert_allclose(sft.imitation_loss(logits, onehots.mean(1)), per_traj, rtol=1e-6)


def nnx_split(name):
    """(graphdef, params) of a small model."""
    import flax.nnx as nnx

    return nnx.split(models.make_model(name, 5, seed=0))


class IterationTest(parameterized.TestCase):
    @parameterized.parameters("linear_attention", "transformer")
    def test_one_iteration_lowers_held_out_regret(self, model_name):
        cfg = tiny_config(
            **{
                "env.horizon": 20,
                "rmft.num_scenarios": 128,
                "rmft.num_rollouts": 8,
                "rmft.num_selected": 1,
                "sft.num_steps": 20,
                "sft.learning_rate": 1e-2,
                "model.name": model_name,
            }
        )
        if model_name == "transformer":
            del cfg.model.init_scale, cfg.model.prefix_sum
        settings = fol.FOLSettings.from_config(cfg)
        env = fol.build_env(cfg)
        graphdef, params = fol.build_model(cfg, seed=0)
        optimizer = fol.build_optimizer(cfg)
        heldout = envs.sample_batch(env, jax.random.key(99), 256)  # jitted: eager vmap compiles op by op
        evaluate = fol.make_evaluate(graphdef)
        before = float(evaluate(params, heldout)[1]["eval_regret"])
        iteration = fol.make_iteration(env, graphdef, optimizer, settings)
        params, _, metrics = iteration(params, optimizer.init(params), jax.random.key(1))
        after = float(evaluate(params, heldout)[1]["eval_regret"])
        self.assertTrue(bool(metrics["finite"]))
        self.assertLess(float(metrics["selected_regret"]), float(metrics["rollout_regret"]))
        self.assertLess(after, before)


class OptionsTest(parameterized.TestCase):
    @parameterized.parameters(
        ("regret", "sample", "actions"), ("reward", "logit_noise", "policy"), ("random", "logit_noise", "actions")
    )
    def test_iteration_runs_with_each_option(self, rule, exploration, target):
        cfg = tiny_config(
            **{"rmft.selection": rule, "rmft.exploration": exploration, "sft.target": target, "rmft.temperature": 0.7}
        )
        fol.validate_config(cfg)
        graphdef, params = fol.build_model(cfg, seed=0)
        optimizer = fol.build_optimizer(cfg)
        iteration = fol.make_iteration(fol.build_env(cfg), graphdef, optimizer, fol.FOLSettings.from_config(cfg))
        new_params, _, metrics = iteration(params, optimizer.init(params), jax.random.key(0))
        self.assertTrue(bool(metrics["finite"]))
        moved = jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()), new_params, params)
        self.assertGreater(max(jax.tree.leaves(moved)), 0.0)
        if rule == "random":  # no filter: the kept trajectories are typical, not the best
            self.assertGreater(float(metrics["selected_regret"]), 0.5 * float(metrics["rollout_regret"]))


class ConfigValidationTest(parameterized.TestCase):
    @parameterized.named_parameters(
        ("k_above_L", {"rmft.num_selected": 9, "rmft.num_rollouts": 4}, "cannot exceed rmft.num_rollouts"),
        ("k_below_1", {"rmft.num_selected": 0}, "num_selected.*>= 1"),
        ("horizon_below_2", {"env.horizon": 1}, "env.horizon must be an integer >= 2"),
        ("unknown_scenario", {"env.scenarios": ("stochastic", "bogus")}, "unknown scenario.*'bogus'"),
        ("zero_lr", {"sft.learning_rate": 0.0}, "sft.learning_rate must be positive"),
        ("negative_lr", {"sft.learning_rate": -1e-3}, "sft.learning_rate must be positive"),
        ("unknown_selection", {"rmft.selection": "best"}, "unknown rmft.selection"),
        ("weights_mismatch", {"env.weights": (1.0,)}, "one weight per scenario"),
        ("policy_target_without_noise", {"sft.target": "policy"}, "needs rmft.exploration='logit_noise'"),
    )
    def test_bad_config_fails_before_compiling(self, overrides, message):
        from rmft_jax.training import fol_train

        calls = []
        original = fol.make_iteration
        fol.make_iteration = lambda *a, **k: calls.append(1) or original(*a, **k)
        try:
            with tempfile.TemporaryDirectory() as tmp, self.assertRaisesRegex(ValueError, message):
                fol_train.run(tiny_config(**overrides), os.path.join(tmp, "run"))
        finally:
            fol.make_iteration = original
        self.assertEqual(calls, [])
