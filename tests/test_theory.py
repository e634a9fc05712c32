"""theory/: the effective operator, the FTRL fits, the iteration map's fixed points, the CLI and the notebook."""

import json
import os
import subprocess
import sys

import chex
import flax.nnx as nnx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rmft_jax import envs, models
from rmft_jax.baselines import full_info
from theory import fit, iteration_map, operator, study
from theory.configs import fixed_point

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(ROOT, "notebooks", "theory_fixed_point.ipynb")
A, T = 5, 30


@pytest.fixture(scope="module")
def rewards():
    """Held-out stochastic FOL sequences (N, T, A)."""
    return envs.sample_batch(envs.make_fol("stochastic", horizon=T, num_actions=A), jax.random.key(7), 256)


def policies(graphdef, params, rewards_NxTxA):
    """The model's policies."""
    return jax.nn.softmax(models.apply(graphdef, params, rewards_NxTxA), axis=-1)


def custom_model(V_AxA1, u_A1, b_A):
    """A LinearAttention model with V, b given and K, Q chosen so that K^T Q c = u."""
    graphdef, params = nnx.split(models.LinearAttention(A, rngs=nnx.Rngs(0)))
    model = nnx.merge(graphdef, params)
    model.V[...] = jnp.asarray(V_AxA1, jnp.float32)
    model.K[...] = jnp.zeros((A + 1, A + 1)).at[0].set(jnp.asarray(u_A1, jnp.float32))  # K^T e_0 = u
    model.Q[...] = jnp.zeros((A + 1, A + 1)).at[0, -1].set(1.0)  # Q c = e_0
    model.b[...] = jnp.asarray(b_A, jnp.float32)
    return nnx.split(model)


@pytest.mark.parametrize("eta", [0.3, 1.0, 3.0, 12.0])
def test_hedge_params_is_eta_times_centered_identity(rewards, eta):
    graphdef, params = models.hedge_params(eta, A)
    op = operator.effective_operator(graphdef, params, rewards)
    C = np.eye(A) - 1.0 / A
    np.testing.assert_allclose(operator.center_operator(op.W_AxA), eta * C, atol=1e-6)
    assert float(operator.structure_residual(op.W_AxA, eta)) < 1e-6
    np.testing.assert_allclose(operator.projected_eta(op.W_AxA), eta, rtol=1e-6)
    assert float(op.weight_cv) < 1e-6 and np.allclose(op.drift_A, 0) and np.allclose(op.bias_A, 0)
    fractions = operator.part_fractions(operator.logit_parts(graphdef, params, rewards, op))
    np.testing.assert_allclose(
        [fractions[k] for k in ("linear_fraction", "bias_fraction", "nonlinear_fraction")], [1.0, 0.0, 0.0], atol=1e-5
    )
    fitted = fit.fit_eta(rewards, policies(graphdef, params, rewards))
    np.testing.assert_allclose(fitted["eta_hat"], eta, rtol=1e-4)
    assert float(fitted["tv"]) < 1e-5
    assert float(operator.structure_residual(op.W_AxA, fitted["eta_hat"])) < 1e-4


def test_operator_of_a_model_with_a_known_answer(rewards):
    rng = np.random.default_rng(0)
    eta, s = 2.0, 1.5
    E = rng.normal(size=(A, A))
    W = eta * np.eye(A) + np.outer(np.ones(A), rng.normal(size=A)) + 0.3 * E  # + a constant row: invisible
    v0, b = rng.normal(size=A), rng.normal(size=A)
    u = np.concatenate([0.2 * rng.normal(size=A), [s]])
    graphdef, params = custom_model(np.concatenate([W, v0[:, None]], axis=1), u, b)
    op = operator.effective_operator(graphdef, params, rewards)
    w_bar = float(np.mean(np.asarray(rewards)[:, :-1] @ u[:-1] + s))
    np.testing.assert_allclose(op.mean_weight, w_bar, rtol=1e-5)
    np.testing.assert_allclose(op.W_AxA, w_bar * W, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(op.drift_A, w_bar * v0, rtol=1e-4, atol=1e-5)
    C = np.eye(A) - 1.0 / A
    CW = w_bar * C @ W
    expected = np.linalg.norm(CW - w_bar * eta * C) / np.linalg.norm(CW)  # = ||0.3 C E|| / ||C W||
    np.testing.assert_allclose(operator.structure_residual(op.W_AxA, w_bar * eta), expected, rtol=1e-4)
    np.testing.assert_allclose(operator.projected_eta(op.W_AxA), np.trace(CW) / (A - 1), rtol=1e-4)
    # The three parts add up to the model's own centered logits.
    parts = operator.logit_parts(graphdef, params, rewards, op)
    chex.assert_shape(list(parts.values()), rewards.shape)  # every part per sequence and round
    logits = models.apply(graphdef, params, rewards)
    np.testing.assert_allclose(parts["total"], operator.center_logits(logits), atol=1e-4)
    np.testing.assert_allclose(parts["linear"] + parts["bias"] + parts["nonlinear"], parts["total"], atol=1e-4)
    assert float(op.weight_cv) > 0.01


def test_centering_invariance(rewards):
    rng = np.random.default_rng(1)
    V = rng.normal(size=(A, A + 1))
    u = np.concatenate([0.3 * rng.normal(size=A), [1.0]])
    b = rng.normal(size=A)
    g0, p0 = custom_model(V, u, b)
    # A constant row added to every row of V and a constant added to b shift all logits equally.
    g1, p1 = custom_model(V + np.outer(np.ones(A), rng.normal(size=A + 1)), u, b + 0.7)
    op0, op1 = (operator.effective_operator(g, p, rewards) for g, p in ((g0, p0), (g1, p1)))
    assert not np.allclose(op0.W_AxA, op1.W_AxA)
    np.testing.assert_allclose(operator.center_operator(op0.W_AxA), operator.center_operator(op1.W_AxA), atol=1e-4)
    np.testing.assert_allclose(operator.center_logits(op0.drift_A), operator.center_logits(op1.drift_A), atol=1e-4)
    np.testing.assert_allclose(operator.center_logits(op0.bias_A), operator.center_logits(op1.bias_A), atol=1e-5)
    np.testing.assert_allclose(policies(g0, p0, rewards), policies(g1, p1, rewards), atol=1e-5)
    np.testing.assert_allclose(
        operator.structure_residual(op0.W_AxA, 1.0), operator.structure_residual(op1.W_AxA, 1.0), rtol=1e-4
    )
    # Trading scale between V and the attention weight leaves the operator unchanged.
    g2, p2 = custom_model(3.0 * V, u / 3.0, b)
    np.testing.assert_allclose(operator.effective_operator(g2, p2, rewards).W_AxA, op0.W_AxA, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("family,eta", [("entropy", 0.7), ("entropy", 5.0), ("l2", 0.4), ("l2", 3.0)])
def test_fit_recovers_eta_on_held_out_sequences(rewards, family, eta):
    pi = full_info.ftrl(rewards, eta, regularizer=family)
    fitted = fit.fit_eta(rewards, pi, family)
    np.testing.assert_allclose(fitted["eta_hat"], eta, rtol=1e-3)
    assert float(fitted["tv"]) < 1e-4 and not bool(fitted["at_edge"])


def test_fit_of_a_non_hedge_model_has_positive_tv(rewards):
    graphdef, params = nnx.split(models.LinearAttention(A, init_scale=1.0, rngs=nnx.Rngs(3)))
    fitted = fit.fit_eta(rewards, policies(graphdef, params, rewards))
    assert float(fitted["tv"]) > 0.01
    chex.assert_tree_all_finite(fitted["eta_hat"])


def test_regret_optimal_eta_matches_a_grid(rewards):
    tuned = fit.regret_optimal_eta(rewards, eta_min=0.05, eta_max=20.0)
    grid = np.geomspace(0.05, 20.0, 200)
    finals = [float(jnp.mean(full_info.hedge_regret(rewards, e)[:, -1])) for e in grid]
    assert float(tuned["regret"]) <= min(finals) + 1e-4


def test_fixed_points_of_known_maps():
    etas = np.geomspace(0.5, 64, 15)
    stable = iteration_map.summarize_map(etas, (2.0 * np.sqrt(etas))[:, None])  # eta* = 4, slope 1/2
    point = stable["fixed_point"]
    np.testing.assert_allclose(point["eta_star"], 4.0, rtol=1e-6)
    assert point["stable"] and abs(point["slope"] - 0.5) < 1e-9
    unstable = iteration_map.fixed_points(etas, etas**2 / 4.0)  # eta* = 4, slope 2
    assert len(unstable) == 1 and not unstable[0]["stable"]
    np.testing.assert_allclose(unstable[0]["eta_star"], 4.0, rtol=1e-6)
    none = iteration_map.summarize_map(etas, (1.1 * etas)[:, None])
    assert none["fixed_points"] == [] and np.isnan(none["fixed_point"]["eta_star"])


@pytest.mark.slow  # the theory study end to end (keys x iterations x the eta map): about a minute on 2 cores
def test_cli_smoke_writes_fixed_point_json(tmp_path):
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    cmd = [
        sys.executable,
        "-m",
        "theory.fixed_point",
        "--config=theory/configs/fixed_point.py:smoke",
        f"--workdir={tmp_path}",
    ]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    with open(tmp_path / "fixed_point.json") as fh:
        results = json.load(fh)
    for key in (
        "eta_hat",
        "tv_distance",
        "structure_residual",
        "regret_ratio_vs_hedge_eta_hat",
        "regret_ratio_vs_tuned_hedge",
        "eta_star",
        "traces",
        "iteration_map",
        "acceptance",
    ):
        assert key in results, key
    assert len(results["traces"]["eta_hat"]) == 4  # iteration 0 and the three smoke iterations
    for name in ("traces.png", "iteration_map.png", "operator.png"):
        assert (tmp_path / name).stat().st_size > 0
    bad = subprocess.run(
        cmd + ["--config.theory.eta_min=-1"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert bad.returncode != 0 and "eta_min" in bad.stderr and "Traceback" not in bad.stderr


def test_committed_notebook_is_stripped():
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # Outputs stay out of git: the committed notebook is stripped.
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")


@pytest.mark.slow  # a kernel runs the theory smoke study (as test_cli_smoke_writes_fixed_point_json does by the CLI)
def test_notebook_runs_top_to_bottom_on_smoke_config(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    monkeypatch.setenv("THEORY_NOTEBOOK_VARIANT", "smoke")
    monkeypatch.setenv("THEORY_NOTEBOOK_WORKDIR", str(tmp_path))
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": ROOT}}).execute()
    assert (tmp_path / "fixed_point.json").exists()


def test_theory_run_is_the_drivers_a_killed_run_resumes_to_the_same_numbers(tmp_path):
    class Killed(Exception):
        pass

    def kill_after_iteration_2(line):
        if line.startswith("iter    2/"):
            raise Killed(line)

    cfg = fixed_point.get_config("smoke")
    whole = study.run(cfg, str(tmp_path / "whole"), log=lambda line: None)
    with pytest.raises(Killed):
        study.run(cfg, str(tmp_path / "killed"), log=kill_after_iteration_2)
    lines = []
    resumed = study.run(cfg, str(tmp_path / "killed"), log=lines.append)
    assert any("resumed from checkpoint 2" in line for line in lines), lines
    for key in ("eta_hat", "tv_distance", "structure_residual", "eta_star", "traces", "final"):
        assert json.dumps(resumed[key], sort_keys=True) == json.dumps(whole[key], sort_keys=True), key  # NaN too
    again = []
    study.run(cfg, str(tmp_path / "killed"), log=again.append)  # finished: reported, not retrained
    assert any("nothing to do" in line for line in again)
    assert (tmp_path / "killed" / "fixed_point.json").exists() and (tmp_path / "killed" / "config.json").exists()
