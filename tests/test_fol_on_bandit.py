"""Train on FOL, play on MAB: importance-weighted play of a full-information policy."""

import flax.nnx as nnx
import jax
import numpy as np

from rmft_jax import models
from rmft_jax.tasks.bandit import fol_on_bandit


def numpy_exp3(rewards_BxTxA, uniforms_TxB, eta, gamma):
    """EXP3 with exploration gamma, float64, sampling by inverse CDF from the given uniforms."""
    num, horizon, num_actions = rewards_BxTxA.shape
    actions = np.zeros((num, horizon), int)
    for b in range(num):
        cum = np.zeros(num_actions)
        for t in range(horizon):
            w = np.exp(eta * (cum - cum.max()))
            p = (1 - gamma) * w / w.sum() + gamma / num_actions
            cdf = np.cumsum(p)
            a = min(int(np.sum(cdf <= uniforms_TxB[t, b] * cdf[-1])), num_actions - 1)
            actions[b, t] = a
            cum[a] += rewards_BxTxA[b, t, a] / p[a]
    return actions


def test_hedge_parameters_played_with_importance_weights_are_exp3():
    rewards = np.asarray(jax.random.bernoulli(jax.random.key(0), 0.4, (6, 40, 4)), np.float32)
    graphdef, params = models.hedge_params(0.3, 4)
    key = jax.random.key(1)
    traj = jax.jit(lambda r, k: fol_on_bandit.importance_weighted_rollout(graphdef, params, r, k, gamma=0.1))(
        rewards, key
    )
    uniforms_TxB = np.asarray(jax.random.uniform(key, (40, 6)), np.float64)
    expected = numpy_exp3(rewards.astype(np.float64), uniforms_TxB, 0.3, 0.1)
    agree = np.mean(np.asarray(traj.actions_BxT) == expected)
    assert agree > 0.97  # float32 vs float64 can flip a draw that sits on a CDF edge, then the paths part
    np.testing.assert_array_equal(np.asarray(traj.actions_BxT)[:, :10], expected[:, :10])
    # The observed reward is the table's entry of the played arm, and the policy mixes in gamma / A.
    played = np.take_along_axis(rewards, np.asarray(traj.actions_BxT)[..., None], -1)[..., 0]
    np.testing.assert_array_equal(np.asarray(traj.rewards_BxT), played)
    assert float(np.min(np.asarray(traj.probs_BxTxA))) >= 0.1 / 4 - 1e-6


def test_round_t_depends_only_on_earlier_feedback():
    graphdef, params = models.nnx.split(models.make_model("linear_attention", 3, seed=0, init_scale=1.0))
    rewards = np.asarray(jax.random.uniform(jax.random.key(2), (5, 30, 3)), np.float32)
    changed = rewards.copy()
    changed[:, 20:] = 1.0 - changed[:, 20:]

    def run(r):
        return fol_on_bandit.importance_weighted_rollout(graphdef, params, r, jax.random.key(3))

    a, b = run(rewards), run(changed)
    np.testing.assert_array_equal(np.asarray(a.actions_BxT)[:, :21], np.asarray(b.actions_BxT)[:, :21])
    np.testing.assert_allclose(np.asarray(a.probs_BxTxA)[:, :21], np.asarray(b.probs_BxTxA)[:, :21])


def test_fol_on_mab_study_plays_a_trained_workdir_against_the_bandit_algorithms(tmp_path):
    import pytest

    from experiments.configs import fol_single_layer
    from rmft_jax.studies import fol_on_mab
    from rmft_jax.training import fol_train

    workdir = str(tmp_path / "fol")
    fol_train.run(fol_single_layer.get_config("smoke"), workdir, log=lambda line: None)
    with pytest.raises(ValueError, match="no config.json"):
        fol_on_mab.run({"x": str(tmp_path / "missing")}, 20, 50, (0.0,), ("exp3",), 0, log=lambda line: None)
    with pytest.raises(ValueError, match="not among the workdirs"):
        fol_on_mab.run({"smoke": workdir}, 20, 64, (0.0,), ("exp3",), 0, log=lambda line: None, finetune_names=("x",))
    tiny = fol_on_mab.Finetune(iterations=2, num_scenarios=8, num_rollouts=4, num_selected=2, sft_steps=3)
    played = fol_on_mab.run(
        {"smoke": workdir},
        20,
        64,
        (0.0, 0.5),
        ("exp3", "ucb1"),
        0,
        log=lambda line: None,
        finetune_names=("smoke",),
        settings=tiny,
    )
    out, tuned = played["results"], played["finetune"]
    assert [h["iteration"] for h in tuned["smoke"]["history"]] == [1, 2]
    assert set(out) == set(fol_on_mab.INSTANCES)
    for instance, methods in out.items():
        assert set(methods) == {
            "description",
            "smoke (gamma 0)",
            "smoke (gamma 0.5)",
            "smoke + RMFT on MAB (gamma 0)",
            "smoke + RMFT on MAB (gamma 0.5)",
            "exp3",
            "ucb1",
        }
        gap = 0.2 if instance == "hard" else 0.5
        for name, stats in methods.items():
            if name != "description":  # pseudo-regret of T rounds lies in [0, T * gap]
                assert 0.0 <= stats["regret"] <= 20 * gap + 1e-6
        # Mixing in uniform exploration (every arm at least gamma / K per round) spreads the plays.
        assert methods["smoke (gamma 0.5)"]["k_min_frac"]["end"] > methods["smoke (gamma 0)"]["k_min_frac"]["end"]


def test_rmft_on_mab_task_imitates_the_play_it_generated_and_scores_it_by_pseudo_regret():
    import jax.numpy as jnp

    from rmft_jax.core import loop, sft
    from rmft_jax.envs import bandit as bandit_envs
    from rmft_jax.tasks.bandit import fol_on_bandit_rmft

    env = bandit_envs.GapMAB(num_actions=4, horizon=15, gap_range=(0.1, 0.5), random_best_arm=True).validate()
    graphdef, params = nnx_model(4)
    task = fol_on_bandit_rmft.FOLOnBanditTask(env, graphdef, num_scenarios=3, num_rollouts=5)
    key_env, key_roll = jax.random.key(7), jax.random.key(8)
    rolls = jax.jit(task.rollout)(params, key_env, key_roll)
    # Regret: the pseudo-regret at T from the instances' means, recomputed in numpy from the played actions.
    scen = jax.vmap(env.sample)(jax.random.split(key_env, 3))
    means = np.repeat(np.asarray(scen.means_TxA, np.float64), 5, axis=0)
    actions = np.asarray(rolls.data[0]).reshape(15, 15)
    gaps = means.max(-1) - np.take_along_axis(means, actions[..., None], -1)[..., 0]
    np.testing.assert_allclose(np.asarray(rolls.regret_MxL).ravel(), gaps.sum(-1), rtol=1e-5, atol=1e-5)
    # The SFT input of a kept rollout is what the model absorbed: a full pass over it gives the played policies.
    traj = fol_on_bandit.importance_weighted_rollout(
        graphdef, params, jnp.repeat(scen.rewards_TxA, 5, axis=0), key_roll
    )
    keep = jnp.array([[0, 3], [1, 2], [4, 0]])
    batch = task.sft_batch(rolls, keep)
    rows = (np.arange(3)[:, None] * 5 + np.asarray(keep)).ravel()
    probs = jax.nn.softmax(task.apply(params, batch.inputs_BxTxD), axis=-1)
    np.testing.assert_allclose(np.asarray(probs), np.asarray(traj.probs_BxTxA)[rows], rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(np.argmax(np.asarray(batch.targets_BxTxA), -1), np.asarray(traj.actions_BxT)[rows])
    # One iteration of the loop on this task moves the parameters and stays finite.
    optimizer = sft.make_optimizer(1e-2)
    iteration = jax.jit(
        loop.make_iteration(task, sft.make_update(task.apply, optimizer, 3), loop.LoopSettings("regret", 2, 3))
    )
    new, _, metrics = iteration(params, optimizer.init(params), jax.random.key(9))
    assert bool(metrics["finite"]) and float(metrics["selected_regret"]) <= float(metrics["rollout_regret"])
    assert any(
        float(jnp.abs(a - b).max()) > 0 for a, b in zip(jax.tree.leaves(new), jax.tree.leaves(params), strict=True)
    )


def nnx_model(num_actions):
    """(graphdef, params) of a random single-layer model whose policy is far from uniform."""
    return nnx.split(models.make_model("linear_attention", num_actions, seed=3, init_scale=0.5))
