"""The seed sweep checkpoints and resumes: a killed study arm ends with an uninterrupted one's numbers."""

import os

import jax
import numpy as np
import pytest

from experiments.configs import fol_single_layer
from rmft_jax.studies import arms, fol_sweep
from rmft_jax.training import train_loop


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


def test_a_diverging_sweep_stops_naming_the_seed_and_iteration_and_saves_nothing(tmp_path):
    cfg = smoke(num_iterations=4)
    cfg.sft.learning_rate = 1e4  # the driver stops this config at iteration 1 (loss ~1e13)
    with pytest.raises(train_loop.TrainingDiverged, match=r"seed 0, iteration 1 diverged: .*nothing was saved"):
        fol_sweep.run_seeds(cfg, [0, 1], log=quiet, workdir=str(tmp_path))
    assert not os.listdir(tmp_path / "checkpoints")


def test_divergence_of_a_trace_is_judged_per_seed_and_iteration_as_in_the_driver():
    ones = np.ones((2, 3), np.float32)
    trace = {"sft_loss": ones.copy(), "sft_loss_first": ones.copy(), "finite": ones > 0, "eval_regret": ones.copy()}
    bound = {"divergence_factor": 1e3, "signed_loss": False}
    assert fol_sweep.diverged(trace, trace, [7, 8], 10, bound) is None
    grown = {**trace, "sft_loss": ones.copy()}
    grown["sft_loss"][1, 2] = 2e3  # 2000x its iteration's first step
    assert fol_sweep.diverged(grown, trace, [7, 8], 10, bound).startswith("seed 8, iteration 13 diverged: loss 2000")
    nan = {**trace, "finite": trace["finite"].copy()}
    nan["finite"][0, 1] = False
    assert fol_sweep.diverged(nan, trace, [7, 8], 10, bound).startswith("seed 7, iteration 12 diverged: NaN or inf")
    skipped = {**trace, "eval_regret": np.full((2, 3), np.nan, np.float32)}  # between evaluations: not divergence
    assert fol_sweep.diverged(skipped, trace, [7, 8], 10, bound) is None
    # A signed loss is judged against the run's first iteration: |-5e3| > 1e3 x |1|.
    signed = {**trace, "sft_loss": -5e3 * ones, "sft_loss_first": -5e3 * ones}
    assert "seed 7, iteration 11 diverged" in fol_sweep.diverged(
        signed, trace, [7, 8], 10, {**bound, "signed_loss": True}
    )
    assert fol_sweep.diverged(signed, trace, [7, 8], 10, {"divergence_factor": 0.0, "signed_loss": True}) is None
