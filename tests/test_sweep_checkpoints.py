"""The seed sweep checkpoints and resumes: a killed study arm ends with an uninterrupted one's numbers."""

import jax
import numpy as np
import pytest

from experiments.configs import fol_single_layer
from rmft_jax.studies import arms, fol_sweep


def smoke(num_iterations=5, every=2, eval_every=1):
    cfg = fol_single_layer.get_config("smoke")
    cfg.rmft.num_iterations, cfg.checkpoint.every, cfg.eval.every = num_iterations, every, eval_every
    return cfg


class Killed(Exception):
    """Stands in for SIGKILL after a checkpoint."""


def kill_after(step):
    def log(msg):
        if msg.strip().startswith(f"iteration {step} of"):
            raise Killed(msg)

    return log


def quiet(msg):
    return None


def leaves_equal(a, b):
    return all(jax.tree.leaves(jax.tree.map(lambda x, y: bool(np.array_equal(x, y)), a, b)))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    return fol_sweep.run_seeds(smoke(), [0, 1], log=quiet, workdir=str(tmp_path_factory.mktemp("whole")))


def test_a_killed_sweep_resumes_and_ends_with_the_uninterrupted_numbers(uninterrupted, tmp_path):
    with pytest.raises(Killed):
        fol_sweep.run_seeds(smoke(), [0, 1], log=kill_after(2), workdir=str(tmp_path))
    lines = []
    resumed = fol_sweep.run_seeds(smoke(), [0, 1], log=lines.append, workdir=str(tmp_path))
    assert any("resumed the sweep at iteration 2 of 5" in line for line in lines), lines
    assert leaves_equal(resumed["params"], uninterrupted["params"])
    assert resumed["per_seed"] == uninterrupted["per_seed"]
    assert resumed["trace_eval_regret"] == uninterrupted["trace_eval_regret"]


def test_a_finished_sweep_is_restored_not_retrained(uninterrupted, tmp_path):
    fol_sweep.run_seeds(smoke(), [0, 1], log=quiet, workdir=str(tmp_path))
    lines = []
    again = fol_sweep.run_seeds(smoke(), [0, 1], log=lines.append, workdir=str(tmp_path))
    assert any("resumed the sweep at iteration 5 of 5" in line for line in lines)
    assert again["per_seed"] == uninterrupted["per_seed"] and again["compile_seconds"] == 0.0


def test_checkpointed_sweep_equals_the_one_call_sweep_bit_for_bit(uninterrupted):
    # RMFT's top-k selection makes training chaotic: any rounding change at a chunk boundary would grow into
    # different models over a long run, so chunks must reproduce one call exactly, not approximately.
    one_call = fol_sweep.run_seeds(smoke(), [0, 1], log=quiet)
    assert leaves_equal(one_call["params"], uninterrupted["params"])
    assert one_call["per_seed"] == uninterrupted["per_seed"]
    assert one_call["trace_eval_regret"] == uninterrupted["trace_eval_regret"]


def test_another_sweeps_checkpoints_are_refused(tmp_path):
    fol_sweep.run_seeds(smoke(num_iterations=2), [0, 1], log=quiet, workdir=str(tmp_path))
    with pytest.raises(ValueError, match="checkpoints of another sweep"):
        fol_sweep.run_seeds(smoke(num_iterations=2), [0, 2], log=quiet, workdir=str(tmp_path))


def test_eval_every_skips_the_held_out_set_between_evaluations(uninterrupted):
    sparse = fol_sweep.run_seeds(smoke(eval_every=2), [0, 1], log=quiet)
    trace, full = np.asarray(sparse["trace_eval_regret"]), np.asarray(uninterrupted["trace_eval_regret"])
    assert np.isnan(trace[[0, 2]]).all()  # iterations 1 and 3
    assert np.isfinite(trace[[1, 3, 4]]).all()  # iterations 2, 4 and the last
    np.testing.assert_allclose(trace[[1, 3, 4]], full[[1, 3, 4]], rtol=1e-5)


def test_arm_runner_trains_each_config_once_in_its_own_directory(tmp_path):
    calls = []
    runner = arms.ArmRunner(lambda cfg, d: calls.append(d) or len(calls), str(tmp_path), quiet)
    a, b = smoke(), smoke(num_iterations=3)
    assert runner.train(a, "x") == 1 and runner.train(a.copy_and_resolve_references(), "y") == 1
    assert runner.train(b, "z") == 2
    assert calls == [runner.arm_dir(a, "x"), runner.arm_dir(b, "z")] and calls[0] != calls[1]
    assert calls[0].startswith(str(tmp_path)) and arms.arm_tag(a) in calls[0]
