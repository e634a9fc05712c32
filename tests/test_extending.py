"""The example task of docs/extending.md (online shortest path) against numpy, and trained end to end by the
generic driver: outputs, improvement, resume with a checkpoint cadence, finished runs."""

import functools
import itertools
import json
import os
import tempfile

import jax
import numpy as np
import pytest

from rmft_jax import models
from rmft_jax.tasks import shortest_path
from rmft_jax.training import driver


def quiet(msg):
    """A log function that drops its message."""
    return None


def tiny(num_iterations=12, every=5):
    """A config small enough for the tests."""
    cfg = shortest_path.get_config()
    cfg.env.horizon = 20
    cfg.rmft.num_iterations, cfg.rmft.num_scenarios = num_iterations, 32
    cfg.eval.num_scenarios, cfg.eval.every = 64, 4
    cfg.checkpoint.every = every
    return cfg


def numpy_path_rewards(losses_TxE):
    """Walk the layered graph edge by edge: rewards (T, 4) of the paths (i, j), in float64."""
    s_u, u_v, v_t = losses_TxE[:, 0:2], losses_TxE[:, 2:6].reshape(-1, 2, 2), losses_TxE[:, 6:8]
    out = np.zeros((losses_TxE.shape[0], 4))
    for i, j in itertools.product(range(2), range(2)):
        out[:, 2 * i + j] = 1.0 - (s_u[:, i] + u_v[:, i, j] + v_t[:, j]) / 3.0
    return out


def test_rollout_regret_and_reward_match_a_numpy_loop():
    graphdef, params = shortest_path.nnx.split(
        models.make_model("linear_attention", 4, seed=1, input_dim=8, init_scale=1.0)
    )
    task = shortest_path.ShortestPathTask(graphdef, horizon=15, num_scenarios=6, num_rollouts=3)
    rolls = jax.jit(task.rollout)(params, jax.random.key(0), jax.random.key(1))
    losses_MxTxE, paths_MxLxT = (np.asarray(x, np.float64) for x in rolls.data)
    for m in range(6):
        rewards_TxP = numpy_path_rewards(losses_MxTxE[m])
        best = max(sum(rewards_TxP[t, p] for t in range(15)) for p in range(4))
        for rollout in range(3):
            got = sum(rewards_TxP[t, int(paths_MxLxT[m, rollout, t])] for t in range(15))
            assert rolls.reward_MxL[m, rollout] == pytest.approx(got, abs=1e-4)
            assert rolls.regret_MxL[m, rollout] == pytest.approx(best - got, abs=1e-4)
    assert np.all(np.asarray(rolls.regret_MxL) >= -1e-5)  # nobody beats the best fixed path's own total
    # The L rollouts of a scenario share its losses but sample paths independently.
    assert np.any(paths_MxLxT[:, 0] != paths_MxLxT[:, 1])


def test_sft_batch_averages_the_kept_paths():
    graphdef, params = shortest_path.nnx.split(models.make_model("linear_attention", 4, seed=0, input_dim=8))
    task = shortest_path.ShortestPathTask(graphdef, horizon=10, num_scenarios=4, num_rollouts=5)
    rolls = task.rollout(params, jax.random.key(2), jax.random.key(3))
    keep_Mxk = np.array([[0, 1], [2, 3], [4, 0], [1, 1]])
    batch = task.sft_batch(rolls, keep_Mxk)
    paths = np.asarray(rolls.data[1])
    for m in range(4):
        expected = np.mean([np.eye(4)[paths[m, i]] for i in keep_Mxk[m]], axis=0)
        np.testing.assert_allclose(np.asarray(batch.targets_BxTxA[m]), expected, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(batch.inputs_BxTxD), np.asarray(rolls.data[0]))


@functools.cache
def _trained():
    """An uninterrupted run of the generic driver on the example task, computed once per worker process: xdist can
    tear a module fixture down between its tests."""
    workdir = tempfile.mkdtemp(prefix="rmft_shortest_path_")
    return workdir, driver.run(tiny(), workdir, shortest_path.Experiment(), log=quiet)


@pytest.fixture
def trained():
    """An uninterrupted run of the generic driver on the example task (shared by this module's tests)."""
    return _trained()


def test_driver_trains_the_example_task(trained):
    workdir, results = trained
    for name in ("results.json", "config.json", "metrics.jsonl"):
        assert os.path.exists(os.path.join(workdir, name)), name
    assert [r["iteration"] for r in results["iterations"]] == list(range(1, 13))
    # RMFT improves the initial model on held-out scenarios; it should approach Hedge over the 4 paths.
    assert results["final"] < 0.5 * results["initial"], results
    assert results["final"] < 2.0 * results["hedge"], results
    steps = sorted(int(d) for d in os.listdir(os.path.join(workdir, "checkpoints")) if d.isdigit())
    assert steps == [10, 12]  # every 5 iterations (2 kept) and the last
    lines = []
    again = driver.run(tiny(), workdir, shortest_path.Experiment(), log=lines.append)
    assert any("already finished" in line for line in lines)
    assert again == json.loads(json.dumps(results))


def test_killed_run_resumes_to_the_uninterrupted_numbers(trained, tmp_path):
    _, uninterrupted = trained

    class KilledAt(shortest_path.Experiment):
        """Raises inside the 8th iteration, as a kill would stop it (checkpoint 5 is on disk)."""

        def build(self, cfg):
            run = super().build(cfg)
            jitted, calls = run.iteration, []

            class Lowered:
                def __init__(self, *args):
                    self.compiled = jitted.lower(*args).compile()

                def compile(self):
                    return self

                def __call__(self, *args):
                    calls.append(1)
                    if len(calls) == 8:
                        raise KeyboardInterrupt("killed")
                    return self.compiled(*args)

            run.iteration = type("Jitted", (), {"lower": lambda self, *a: Lowered(*a)})()
            return run

    workdir = str(tmp_path / "killed")
    with pytest.raises(KeyboardInterrupt):
        driver.run(tiny(), workdir, KilledAt(), log=quiet)
    with open(os.path.join(workdir, "metrics.jsonl")) as fh:
        assert len(fh.readlines()) == 7  # the metrics went on past the last checkpoint
    lines = []
    resumed = driver.run(tiny(), workdir, shortest_path.Experiment(), log=lines.append)
    assert any("resumed from checkpoint 5" in line for line in lines), lines

    def drop(rs):
        return [{k: v for k, v in r.items() if k != "seconds"} for r in rs]

    assert drop(resumed["iterations"]) == drop(uninterrupted["iterations"])
    assert resumed["final"] == uninterrupted["final"]
    with open(os.path.join(workdir, "metrics.jsonl")) as fh:
        assert [json.loads(line)["iteration"] for line in fh] == list(range(1, 13))


def test_bad_config_is_refused_before_compiling(tmp_path):
    cfg = tiny()
    cfg.rmft.num_selected = 9
    with pytest.raises(ValueError, match="num_selected"):
        driver.run(cfg, str(tmp_path / "bad"), shortest_path.Experiment(), log=quiet)
    assert not os.path.exists(tmp_path / "bad")
