"""The training paradigms as update rules of the one loop: distillation, regret-loss, policy gradient."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import fol_single_layer
from rmft_jax import models, regret
from rmft_jax.baselines import full_info
from rmft_jax.core import paradigms, policy_gradient, regret_loss, sft
from rmft_jax.tasks.fol import task as fol


def smoke(**paradigm):
    """The smoke config with paradigm fields set."""
    cfg = fol_single_layer.get_config("smoke")
    for field, value in paradigm.items():
        cfg.paradigm[field] = value
    return cfg


def phases_of(cfg):
    """(task, settings, params) of a config."""
    fol.validate_config(cfg)
    s, env = fol.FOLSettings.from_config(cfg), fol.build_env(cfg)
    graphdef, params = fol.build_model(cfg, seed=0)
    return fol.FOLTask(env, graphdef, s), s, params


def test_advantages_are_centered_per_scenario_and_equal_for_reward_and_regret_on_shared_tables():
    reward_MxL = jax.random.uniform(jax.random.key(0), (6, 8)) * 10
    best_M = jnp.arange(6.0) + 20.0
    regret_MxL = best_M[:, None] - reward_MxL  # shared tables: one comparator per scenario
    adv = np.asarray(policy_gradient.advantages("reward", regret_MxL, reward_MxL))
    centered = np.asarray(reward_MxL) - np.asarray(reward_MxL).mean(1, keepdims=True)
    np.testing.assert_allclose(adv, centered / (centered.std() + 1e-6), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(policy_gradient.advantages("regret", regret_MxL, reward_MxL)), adv, atol=1e-5)
    # A per-rollout comparator (bandit pseudo-regret) makes the two signals differ.
    other = np.asarray(
        policy_gradient.advantages("regret", regret_MxL + jax.random.normal(jax.random.key(1), (6, 8)), reward_MxL)
    )
    assert np.abs(other - adv).max() > 0.1


def test_first_policy_gradient_step_is_reinforce_and_clipping_stops_runaway_ratios():
    graphdef, params = models.nnx.split(models.make_model("linear_attention", 4, seed=1, init_scale=0.5))

    def apply_fn(p, x):
        return models.apply(graphdef, p, x)

    rewards_BxTxA = jax.random.uniform(jax.random.key(2), (3, 7, 4))
    actions_BxGxT = jax.random.randint(jax.random.key(3), (3, 5, 7), 0, 4)
    adv_BxG = jax.random.normal(jax.random.key(4), (3, 5))
    old = policy_gradient.action_log_probs(apply_fn(params, rewards_BxTxA), actions_BxGxT, 1.0)

    def surrogate(p):
        new = policy_gradient.action_log_probs(apply_fn(p, rewards_BxTxA), actions_BxGxT, 1.0)
        return policy_gradient.clipped_surrogate(new, old, adv_BxG, 0.2)

    def reinforce(p):  # -mean(A log pi(a)): the score-function estimator, written directly
        logp = jax.nn.log_softmax(apply_fn(p, rewards_BxTxA), -1)
        chosen = jnp.take_along_axis(logp[:, None], actions_BxGxT[..., None], -1)[..., 0]
        return -jnp.mean(adv_BxG[..., None] * chosen)

    g_surrogate, g_reinforce = jax.grad(surrogate)(params), jax.grad(reinforce)(params)
    for a, b in zip(jax.tree.leaves(g_surrogate), jax.tree.leaves(g_reinforce), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-6)
    # Ratios outside [1 - clip, 1 + clip] in the advantage's direction contribute no gradient.
    logp = jnp.zeros((1, 1, 2))
    grad_far = jax.grad(lambda x: policy_gradient.clipped_surrogate(x, logp, jnp.ones((1, 1)), 0.2))(logp + 0.5)
    grad_near = jax.grad(lambda x: policy_gradient.clipped_surrogate(x, logp, jnp.ones((1, 1)), 0.2))(logp + 0.05)
    assert float(jnp.abs(grad_far).sum()) == 0.0 and float(jnp.abs(grad_near).sum()) > 0.0


def test_regret_loss_is_the_expected_regret_and_its_update_lowers_it():
    rewards_BxTxA = jax.random.uniform(jax.random.key(5), (16, 20, 3))
    graphdef, params = models.nnx.split(models.make_model("linear_attention", 3, seed=2, init_scale=0.1))

    def apply_fn(p, x):
        return models.apply(graphdef, p, x)

    logits = apply_fn(params, rewards_BxTxA)
    expected = regret.static_regret(rewards_BxTxA, jax.nn.softmax(logits, -1))[:, -1].mean()
    assert float(regret_loss.expected_regret(logits, rewards_BxTxA)) == pytest.approx(float(expected), rel=1e-5)
    optimizer = sft.make_optimizer(3e-2)
    update = jax.jit(regret_loss.make_update(apply_fn, optimizer, 100))
    new, _, losses = update(params, optimizer.init(params), regret_loss.RegretBatch(rewards_BxTxA, rewards_BxTxA))
    assert float(losses[0]) == pytest.approx(float(expected), rel=1e-5)
    assert float(regret_loss.expected_regret(apply_fn(new, rewards_BxTxA), rewards_BxTxA)) < 0.7 * float(expected)


def test_distillation_rollouts_sample_the_teacher_and_imitate_k_of_them():
    cfg = smoke(name="distill", teacher_eta=2.0)
    cfg.rmft.num_rollouts, cfg.rmft.num_selected = 400, 2
    task, s, params = phases_of(cfg)
    assert s.paradigm.teacher_eta == 2.0
    teacher = task.with_teacher("hedge", 2.0)
    rolls = jax.jit(teacher.rollout)(params, jax.random.key(6), jax.random.key(7))
    rewards = rolls.data.rewards_SxTxA
    hedge_SxTxA = np.asarray(full_info.ftrl(rewards, 2.0))
    actions = np.asarray(rolls.data.shared.actions_MxLxT)
    freq_SxTxA = np.stack([np.mean(actions == a, axis=1) for a in range(s.num_actions)], axis=-1)
    np.testing.assert_allclose(freq_SxTxA, hedge_SxTxA, atol=0.09)  # 400 draws per (scenario, round)
    # FTL: only current leaders are ever played.
    ftl_rolls = jax.jit(task.with_teacher("ftl", 0.0).rollout)(params, jax.random.key(6), jax.random.key(7))
    ftl_SxTxA = np.asarray(full_info.ftl(rewards))
    played = np.take_along_axis(ftl_SxTxA[:, None], np.asarray(ftl_rolls.data.shared.actions_MxLxT)[..., None], -1)
    assert np.all(played > 0)


def test_distilling_hedge_brings_the_model_to_hedge():
    cfg = smoke(name="distill", teacher_eta=2.0)
    cfg.rmft.num_scenarios, cfg.rmft.num_rollouts = 64, 16  # distillation imitates all L (k does not apply)
    cfg.sft.num_steps, cfg.sft.learning_rate = 50, 3e-2
    task, s, params = phases_of(cfg)
    optimizer = fol.build_optimizer(cfg)
    iteration = fol.make_iteration(fol.build_env(cfg), task.graphdef, optimizer, s)
    rewards = jax.random.uniform(jax.random.key(8), (256, s.horizon, s.num_actions))
    hedge = full_info.ftrl(rewards, 2.0)

    def tv(p):
        return float(
            jnp.mean(0.5 * jnp.abs(jax.nn.softmax(models.apply(task.graphdef, p, rewards), -1) - hedge).sum(-1))
        )

    before, opt_state = tv(params), optimizer.init(params)
    for it in range(15):
        params, opt_state, _ = iteration(params, opt_state, jax.random.key(100 + it))
    assert tv(params) < 0.05 < before


@pytest.mark.parametrize("paradigm", ["distill", "regret_loss", "policy_gradient"])
def test_other_paradigms_refuse_adversarial_scenarios(paradigm):
    cfg = smoke(name=paradigm)
    cfg.adversary.adaptive_share = 0.25
    with pytest.raises(ValueError, match="shared oblivious tables"):
        fol.validate_config(cfg)
    with pytest.raises(ValueError, match="paradigm.name"):
        fol.validate_config(smoke(name="dpo"))
    with pytest.raises(ValueError, match="paradigm.pg_return"):
        fol.validate_config(smoke(name="policy_gradient", pg_return="return"))


def test_policy_gradient_iteration_keeps_every_rollout_and_returns_finite_metrics():
    cfg = smoke(name="policy_gradient")
    task, s, params = phases_of(cfg)
    optimizer = fol.build_optimizer(cfg)
    iteration = fol.make_iteration(fol.build_env(cfg), task.graphdef, optimizer, s)
    new, _, metrics = iteration(params, optimizer.init(params), jax.random.key(9))
    assert bool(metrics["finite"])
    assert float(metrics["selected_regret"]) == pytest.approx(float(metrics["rollout_regret"]), rel=1e-6)
    assert float(metrics["sft_loss_first"]) == pytest.approx(0.0, abs=1e-5)  # centered advantages, ratio 1
    assert any(
        float(jnp.abs(a - b).max()) > 0 for a, b in zip(jax.tree.leaves(new), jax.tree.leaves(params), strict=True)
    )


def test_paradigm_study_reports_every_arm_and_generates_its_document(tmp_path):
    import json

    from experiments import make_paradigms
    from experiments.configs import paradigms as paradigm_configs
    from rmft_jax.studies import fol_sweep, paradigm_study

    cfg = paradigm_configs.get_config("smoke")
    cfg.study.settings, cfg.study.arms = ("mix",), ("rmft", "distill_hedge", "pg_reward")
    with pytest.raises(ValueError, match="arms must be"):
        paradigm_study.validate(("mix",), ("rmft", "dpo"), [0, 1])
    with pytest.raises(ValueError, match="seeds must be distinct"):
        paradigm_study.validate(("mix",), ("rmft",), [0, 0])
    results, params = paradigm_study.run(cfg.fol, cfg.study, [0, 1], log=lambda line: None)
    arms = results["mix"]
    assert set(arms) == {"description", "hedge", "rmft", "distill_hedge", "pg_reward"}
    for arm in ("rmft", "distill_hedge", "pg_reward"):
        assert len(arms[arm]["per_seed"]) == 2 and len(arms[arm]["transfer"]) == 2
        assert 0 < arms[arm]["worst_found"]["mean"] <= cfg.fol.env.horizon  # regret of a [0, 1] table is <= T
        assert jax.tree.leaves(params[("mix", arm)])[0].shape[0] == 2  # one parameter set per seed
    # The distillation teacher's regret is Hedge's at the teacher's eta on the very held-out sets used.
    teacher_eta = arms["distill_hedge"]["paradigm"]["teacher_eta"]
    heldout = fol_sweep.heldout_sets(fol_study_arm(cfg), [0, 1])
    expected = [float(jnp.mean(full_info.hedge_regret(h, teacher_eta)[:, -1])) for h in heldout]
    np.testing.assert_allclose(arms["distill_hedge"]["teacher_regret"]["values"], expected, rtol=1e-5)
    verdicts = paradigm_study.verdicts(results)
    assert "sanity distill (mix)" in verdicts and "reward RL vs RMFT (mix)" in verdicts
    data = {"config": cfg.to_dict(), "results": results, "fixed_point": {}, "verdicts": verdicts, "seconds": 1.0}
    (tmp_path / "paradigms.json").write_text(json.dumps(data))
    loaded = json.loads((tmp_path / "paradigms.json").read_text())
    text = make_paradigms.write(loaded, str(tmp_path), str(tmp_path / "paradigms.md"), others=[("runs/other", loaded)])
    assert "| `distill_hedge` |" in text and "sanity distill (mix)" in text
    assert "KL(teacher || model)" in verdicts["sanity distill (mix)"]
    assert text.count("| `distill_hedge` |") == 2 and "## Another model: `linear_attention` (runs/other)" in text


def test_kl_to_teacher_is_zero_at_the_teacher_and_the_known_start_begins_at_hedge():
    from rmft_jax.studies import fol_sweep, paradigm_study

    cfg = smoke(name="distill", teacher_eta=2.0)
    heldout = fol_sweep.heldout_sets(cfg, [0])
    kwargs = {k: v for k, v in cfg.model.to_dict().items() if k != "name"}
    at_teacher = fol_sweep.stack_trees([models.hedge_params(2.0, cfg.env.num_actions, **kwargs)[1]])
    off_teacher = fol_sweep.stack_trees([models.hedge_params(0.5, cfg.env.num_actions, **kwargs)[1]])
    assert abs(paradigm_study.kl_to_teacher(cfg, at_teacher, heldout, 2.0)[0]) < 1e-5
    # Against a plain numpy KL between Hedge(2) and Hedge(0.5) on the same tables.
    r = np.asarray(heldout[0], np.float64)
    past = np.concatenate([np.zeros_like(r[:, :1]), np.cumsum(r, axis=1)[:, :-1]], axis=1)
    p, q = (np.exp(e * past) / np.exp(e * past).sum(-1, keepdims=True) for e in (2.0, 0.5))
    expected = np.mean(np.sum(p * (np.log(p) - np.log(q)), axis=-1))
    assert paradigm_study.kl_to_teacher(cfg, off_teacher, heldout, 2.0)[0] == pytest.approx(expected, rel=1e-3)
    # The known-start check trains from Hedge(KNOWN_START_ETA): its initial regret is that Hedge's.
    rl_cfg = smoke(name="regret_loss")
    start = paradigm_study.known_start(rl_cfg, [0], log=lambda line: None)
    hedge = float(
        jnp.mean(full_info.hedge_regret(fol_sweep.heldout_sets(rl_cfg, [0])[0], paradigm_study.KNOWN_START_ETA)[:, -1])
    )
    assert start["initial_regret"]["mean"] == pytest.approx(hedge, rel=1e-4)


def fol_study_arm(cfg):
    """The study's 'mix' setting config."""
    from rmft_jax.studies import fol_study, paradigm_study

    return fol_study.arm_config(cfg.fol, paradigm_study.SETTINGS["mix"][1])


@pytest.mark.slow
def test_paradigms_cli_writes_results_figure_and_document(tmp_path):
    import json
    import os
    import subprocess
    import sys

    workdir, doc = tmp_path / "paradigms", tmp_path / "paradigms.md"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cmd = [
        sys.executable,
        "-m",
        "experiments.paradigms",
        "--config=experiments/configs/paradigms.py:smoke",
        "--config.study.settings=('stochastic',)",
        "--config.study.arms=('rmft', 'regret_loss')",
        f"--workdir={workdir}",
        "--nocompile_cache",
    ]
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads((workdir / "paradigms.json").read_text())
    assert set(data["results"]["stochastic"]) == {"description", "hedge", "rmft", "regret_loss"}
    assert set(data["fixed_point"]) == {"regret_optimal_eta", "rmft", "regret_loss"}
    assert (workdir / "paradigms.png").exists() and "sanity regret-loss (stochastic)" in data["verdicts"]
    gen = subprocess.run(
        [
            sys.executable,
            "-m",
            "experiments.make_paradigms",
            f"--runs={workdir}",
            f"--fol_on_mab={tmp_path / 'none'}",
            f"--out={doc}",
        ],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert gen.returncode == 0, gen.stderr[-2000:]
    assert "| `regret_loss` |" in doc.read_text() and "Not run yet" in doc.read_text()
    # A bad arm name fails at once with one line.
    bad = subprocess.run(
        cmd[:-2] + ["--config.study.arms=('dpo',)", f"--workdir={tmp_path / 'bad'}"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode != 0 and "arms must be" in bad.stderr


def bandit_smoke(**paradigm):
    """The MAB smoke config with paradigm fields set, and its task, settings and parameters."""
    from experiments.configs import mab
    from rmft_jax.tasks.bandit import task as bandit

    cfg = mab.get_config("smoke")
    cfg.rmft.num_selected = 2  # k < L, so that keeping k of L is a real choice
    for field, value in paradigm.items():
        cfg.paradigm[field] = value
    bandit.validate_config(cfg)
    env, _ = bandit.build_envs(cfg)
    s = bandit.BanditSettings.from_config(cfg)
    graphdef, params = bandit.build_model(cfg, 0)
    return cfg, bandit.BanditTask(env, graphdef, s), s, params


@pytest.mark.parametrize("rows", ["all", "k"])
def test_bandit_distillation_rollouts_are_the_teachers_play_on_the_same_tables(rows):
    from rmft_jax.baselines import bandits

    _, task, s, params = bandit_smoke(name="distill", teacher="thompson", rows=rows)
    rolls = jax.jit(task.with_teacher("thompson").rollout)(params, jax.random.key(1), jax.random.key(2))
    # rows="k": the teacher plays only the k rollouts per instance that distillation trains on.
    per_instance = s.num_rollouts if rows == "all" else s.num_selected
    assert per_instance == (s.num_rollouts if rows == "all" else 2) and s.num_rollouts == 4
    scen = jax.vmap(task.env.sample)(jax.random.split(jax.random.key(1), s.num_scenarios))
    tables = jnp.repeat(scen.rewards_TxA, per_instance, axis=0)
    teacher = bandits.make_bandit_fn(
        "thompson", s.num_scenarios * per_instance, bandits.resolve_hparams("thompson", s.horizon, s.num_actions)
    )
    actions, observed = jax.jit(teacher)(jax.random.key(2), scen.means_TxA[0], tables)
    shape = (s.num_scenarios, per_instance, s.horizon)
    np.testing.assert_array_equal(np.asarray(rolls.data[0]), np.asarray(actions).reshape(shape))
    np.testing.assert_allclose(np.asarray(rolls.data[1]), np.asarray(observed).reshape(shape))
    expected = regret.pseudo_regret(jnp.repeat(scen.means_TxA, per_instance, axis=0), actions)[:, -1]
    np.testing.assert_allclose(np.asarray(rolls.regret_MxL).ravel(), np.asarray(expected), rtol=1e-5, atol=1e-5)


def test_bandit_policy_gradient_batch_and_the_two_returns_differ():
    from rmft_jax.tasks.bandit import task as bandit
    from rmft_jax.tasks.bandit import tokens as bandit_tokens

    cfg, task, s, params = bandit_smoke(name="policy_gradient")
    rolls = jax.jit(task.rollout)(params, jax.random.key(3), jax.random.key(4))
    adv_reward = policy_gradient.advantages("reward", rolls.regret_MxL, rolls.reward_MxL)
    adv_regret = policy_gradient.advantages("regret", rolls.regret_MxL, rolls.reward_MxL)
    # Pseudo-regret is computed from the means, reward carries the arms' noise: the signals rank differently.
    assert float(jnp.abs(adv_reward - adv_regret).max()) > 0.1
    keep_all = paradigms.keep_rows("all", s.num_selected, rolls.regret_MxL, jax.random.key(5))
    batch = task.pg_batch(rolls, adv_reward, keep_all)
    rows = s.num_scenarios * s.num_rollouts
    actions_MxLxT, observed_MxLxT = rolls.data
    assert batch.actions_BxGxT.shape == (rows, 1, s.horizon) and batch.advantages_BxG.shape == (rows, 1)
    np.testing.assert_array_equal(
        np.asarray(batch.inputs_BxTxD),
        np.asarray(
            bandit_tokens.encode(
                actions_MxLxT.reshape(rows, -1), observed_MxLxT.reshape(rows, -1), s.num_actions, s.time_feature
            )
        ),
    )
    # rows="k": k distinct rollouts per scenario, each row with its own rollout's tokens and advantage.
    keep_k = paradigms.keep_rows("k", s.num_selected, rolls.regret_MxL, jax.random.key(5))
    assert keep_k.shape == (s.num_scenarios, s.num_selected)
    assert all(len(set(row)) == s.num_selected for row in np.asarray(keep_k).tolist())
    small = task.pg_batch(rolls, adv_reward, keep_k)
    flat = (np.arange(s.num_scenarios)[:, None] * s.num_rollouts + np.asarray(keep_k)).ravel()
    np.testing.assert_array_equal(np.asarray(small.inputs_BxTxD), np.asarray(batch.inputs_BxTxD)[flat])
    np.testing.assert_array_equal(np.asarray(small.advantages_BxG), np.asarray(batch.advantages_BxG)[flat])
    cfg.paradigm.name = "regret_loss"
    with pytest.raises(ValueError, match="pg_return='regret'"):
        bandit.validate_config(cfg)
