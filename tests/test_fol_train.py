"""The FOL driver end to end on a tiny config: outputs, resume, finished runs, NaN stop, broken checkpoints."""

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import fol_single_layer
from rmft_jax import load_policy
from rmft_jax.attacks import training_check
from rmft_jax.tasks.fol import grading as fol_grading
from rmft_jax.tasks.fol import task as fol
from rmft_jax.training import fol_train
from rmft_jax.training.checkpoint import CheckpointError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def quiet(msg):
    """A log function that drops its message."""
    return None


def smoke(num_iterations=3, **overrides):
    """The smoke config with a chosen number of iterations."""
    cfg = fol_single_layer.get_config("smoke")
    cfg.rmft.num_iterations = num_iterations
    for name, value in overrides.items():
        section, field = name.split(".")
        cfg[section][field] = value
    return cfg


def without_timing(results):
    """Results minus wall-clock fields, which differ between runs."""
    drop = {"seconds", "compile_seconds", "train_seconds", "attack_seconds"}
    clean = {k: v for k, v in results.items() if k not in drop}
    clean["iterations"] = [{k: v for k, v in r.items() if k not in drop} for r in results["iterations"]]
    return clean


@functools.cache
def _finished_run():
    """An uninterrupted 3-iteration smoke run, computed once per worker process: xdist can tear a module fixture down
    between its tests."""
    workdir = tempfile.mkdtemp(prefix="rmft_uninterrupted_")
    return workdir, fol_train.run(smoke(), workdir, log=quiet)


@pytest.fixture
def finished_run():
    """An uninterrupted 3-iteration smoke run (shared by the tests of this module)."""
    return _finished_run()


def test_outputs_and_result_keys(finished_run):
    workdir, results = finished_run
    for name in ("results.json", "config.json", "metrics.jsonl", "regret_curves.png", "training_curves.png"):
        assert os.path.exists(os.path.join(workdir, name)), name
    for key in ("config", "horizon", "num_actions", "iterations", "initial", "final", "ftl", "ftrl", "ftrl_theory"):
        assert key in results, key
    assert [r["iteration"] for r in results["iterations"]] == [1, 2, 3]
    for record in results["iterations"]:
        assert set(record) >= {"iteration", "rollout_regret", "eval_regret", "beta_hat", "p_reg", "sft_loss", "seconds"}
    assert set(results["ftrl"]) >= {"eta", "eval_regret", "beta_hat", "p_reg"}
    assert results["final"]["eval_regret"] == pytest.approx(results["iterations"][-1]["eval_regret"])
    per = results["per_scenario"]
    assert set(per) == {"stochastic", "ftl_adversarial"}
    finals = [per[name]["final"] for name in per]
    assert min(finals) - 1e-6 <= results["final"]["eval_regret"] <= max(finals) + 1e-6
    # The tuned Hedge is the best of its grid on the held-out set.
    assert results["ftrl"]["eval_regret"] == pytest.approx(min(results["ftrl"]["grid_regret"]))


def test_resume_equals_uninterrupted_run(finished_run, tmp_path):
    _, uninterrupted = finished_run
    workdir = str(tmp_path / "resumed")
    fol_train.run(smoke(num_iterations=1), workdir, log=quiet)  # "killed" after one iteration
    os.remove(os.path.join(workdir, "results.json"))  # a killed run has written no results
    metrics_path = os.path.join(workdir, "metrics.jsonl")
    with open(metrics_path, "a") as fh:  # killed after logging an iteration it never checkpointed
        fh.write('{"iteration": 2, "rollout_regret": 99.0}\n')
    lines = []
    resumed = fol_train.run(smoke(num_iterations=3), workdir, log=lines.append)
    assert any("resumed from checkpoint 1" in line for line in lines)
    assert without_timing(resumed) == without_timing(uninterrupted)
    # metrics.jsonl restarts from the checkpointed history: one line per iteration, as results.json has them.
    with open(metrics_path) as fh:
        assert [json.loads(line) for line in fh] == resumed["iterations"]


def test_finished_run_is_not_redone(finished_run):
    workdir, results = finished_run
    lines = []
    again = fol_train.run(smoke(), workdir, log=lines.append)
    assert any("already finished" in line for line in lines)
    assert again == json.loads(json.dumps(results))


def test_changed_config_in_same_workdir_is_refused(finished_run):
    workdir, _ = finished_run
    with pytest.raises(ValueError, match="different config.*sft.num_steps"):
        fol_train.run(smoke(**{"sft.num_steps": 7}), workdir, log=quiet)


def test_nan_stops_the_run_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    original = fol.make_iteration

    class Poisoned:
        """Feeds NaN parameters into the third iteration; the jitted finiteness check must catch it."""

        def __init__(self, jitted):
            self.jitted, self.calls = jitted, 0

        def lower(self, *args):
            compiled = self.jitted.lower(*args).compile()
            outer = self

            class Compiled:
                def compile(self):
                    return self

                def __call__(self, params, opt_state, key):
                    outer.calls += 1
                    if outer.calls == 3:
                        params = jax.tree.map(lambda x: x * jnp.nan, params)
                    return compiled(params, opt_state, key)

            return Compiled()

    monkeypatch.setattr(fol, "make_iteration", lambda *a, **k: Poisoned(original(*a, **k)))
    workdir = str(tmp_path / "nan")
    with pytest.raises(
        fol_train.TrainingDiverged, match="iteration 3 diverged: NaN or inf.*checkpoint 2 is kept.*learning_rate"
    ):
        fol_train.run(smoke(num_iterations=4), workdir, log=quiet)
    steps = sorted(int(d) for d in os.listdir(os.path.join(workdir, "checkpoints")) if d.isdigit())
    assert steps[-1] == 2
    with open(os.path.join(workdir, "metrics.jsonl")) as fh:
        logged = [json.loads(line) for line in fh]
    assert [r["iteration"] for r in logged] == [1, 2, 3] and logged[-1]["finite"] is False
    assert all(np.isfinite(r["rollout_regret"]) for r in logged[:2])
    with pytest.warns(UserWarning, match="checkpoint 2, not the trained model of iteration 4"):
        policy = load_policy(workdir)  # the kept checkpoint is good, and not final
    assert np.all(np.isfinite(policy(np.random.default_rng(0).random((3, 12, 5)))))


def corrupt_latest_checkpoint(workdir):
    """Overwrite every file of the newest checkpoint's state with garbage."""
    ckpt_dir = os.path.join(workdir, "checkpoints")
    latest = max(int(d) for d in os.listdir(ckpt_dir) if d.isdigit())
    for root, _, files in os.walk(os.path.join(ckpt_dir, str(latest), "state")):
        for name in files:
            with open(os.path.join(root, name), "wb") as fh:
                fh.write(b"\x00garbage" * 7)
    return latest


def test_corrupted_checkpoint_gives_a_clear_error(finished_run, tmp_path):
    workdir = str(tmp_path / "corrupt")
    shutil.copytree(finished_run[0], workdir)
    os.remove(os.path.join(workdir, "results.json"))
    latest = corrupt_latest_checkpoint(workdir)
    with pytest.raises(CheckpointError, match=f"checkpoint {latest} .* cannot be restored.*delete"):
        fol_train.run(smoke(), workdir, log=quiet)
    with pytest.raises(CheckpointError, match="cannot be restored"):
        load_policy(workdir)


def test_load_policy_is_causal_and_matches_training_model(finished_run):
    workdir, results = finished_run
    policy = load_policy(workdir)
    rewards = np.random.default_rng(1).random((4, 12, 5)).astype(np.float32)
    base = np.asarray(policy(rewards))
    np.testing.assert_allclose(base.sum(-1), 1.0, atol=1e-5)
    for t in (0, 5, 11):
        perturbed = rewards.copy()
        perturbed[:, t:] = 1.0 - perturbed[:, t:]
        np.testing.assert_array_equal(np.asarray(policy(perturbed))[:, : t + 1], base[:, : t + 1])
    assert policy(rewards[:, :7]).shape == (4, 7, 5)  # shorter horizons
    with pytest.raises(ValueError, match=r"\(\.\.\., T, 5\)"):
        policy(rewards[..., :3])


def test_shared_model_trains_and_its_policy_runs_at_other_action_counts(tmp_path):
    workdir = str(tmp_path / "shared")
    results = fol_train.run(smoke(2, **{"model.name": "shared_linear_attention"}), workdir, log=quiet)
    assert np.isfinite(results["final"]["eval_regret"])
    policy = load_policy(workdir)
    for num_actions in (2, 5, 9):
        rewards = np.random.default_rng(num_actions).random((3, 12, num_actions)).astype(np.float32)
        probs = np.asarray(policy(rewards))
        assert probs.shape == (3, 12, num_actions)
        np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)
        np.testing.assert_allclose(probs[:, 0], 1.0 / num_actions, atol=1e-6)  # round 0 has seen nothing
    with pytest.raises(ValueError, match="A >= 2"):
        policy(np.zeros((3, 12, 1), np.float32))


def test_cli_end_to_end_and_clean_error(tmp_path):
    workdir = str(tmp_path / "cli")
    cmd = [
        sys.executable,
        "-m",
        "experiments.fol_single_layer",
        "--config=experiments/configs/fol_single_layer.py:smoke",
        f"--workdir={workdir}",
        "--config.rmft.num_iterations=2",
    ]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "iter    2/2" in done.stdout and "final held-out regret" in done.stdout
    corrupt_latest_checkpoint(workdir)
    os.remove(os.path.join(workdir, "results.json"))
    failed = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert failed.returncode == 1
    assert "error: checkpoint 2" in failed.stderr and "Traceback" not in failed.stderr
    bad = subprocess.run(
        cmd[:-1] + ["--config.rmft.num_selected=99"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert bad.returncode == 1 and "cannot exceed rmft.num_rollouts" in bad.stderr


def test_background_preparation_gives_the_numbers_of_a_sequential_computation(tmp_path):
    # Held-out set, baselines and tuned Hedge's worst case run on a thread while the iteration compiles and
    # trains; each must equal the same computation done directly, in order, on the main thread.
    cfg = smoke(2, **{"attack.at_end": True})
    results = fol_train.run(cfg, str(tmp_path / "run"), log=quiet)
    key_eval, _ = jax.random.split(jax.random.key(int(cfg.seed)), 2)
    heldout_NxTxA, labels_N = fol_grading.sample_heldout(fol.build_env(cfg), key_eval, int(cfg.eval.num_scenarios))
    base, _ = fol_grading.heldout_baselines(cfg, heldout_NxTxA)
    for method in ("ftl", "ftrl", "ftrl_theory"):
        assert results[method]["eval_regret"] == pytest.approx(base[method]["eval_regret"], rel=1e-6)
    assert results["ftrl"]["eta"] == base["ftrl"]["eta"]
    hedge = training_check.hedge_worst_case(cfg, base["ftrl"]["eta"])
    assert results["worst_case"]["hedge_tuned"] == pytest.approx(hedge["worst"], rel=1e-6)
    assert results["hedge_attack_seconds"] > 0 and results["attack_seconds"] > 0
    # The per-scenario split uses the labels of the same held-out draws.
    assert set(results["per_scenario"]) == {cfg.env.scenarios[i] for i in set(np.asarray(labels_N).tolist())}
