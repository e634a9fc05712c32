"""Seed sweeps (vmap over seeds of a scan over iterations), intervals, the FOL ablation study and its CLI."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from experiments import make_results
from experiments.configs import fol_single_layer
from experiments.configs import mab as mab_config
from rmft_jax import intervals
from rmft_jax.studies import bandit_study, fol_study, fol_sweep
from rmft_jax.training import fol_train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def quiet(msg):
    """A log function that drops its message."""
    return None


def smoke(seed=0, num_iterations=2):
    """The FOL smoke config with a chosen seed."""
    cfg = fol_single_layer.get_config("smoke")
    cfg.seed, cfg.rmft.num_iterations = seed, num_iterations
    return cfg


@pytest.fixture(scope="module")
def sweep_two_seeds():
    """Seeds 3 and 5 of the smoke config trained in one compiled call."""
    return fol_sweep.run_seeds(smoke(), [3, 5], log=quiet)


def test_sweep_equals_separate_runs(sweep_two_seeds, tmp_path):
    # Each seed of the vmapped sweep must replay fol_train.run's keys, init and held-out set.
    for i, seed in enumerate((3, 5)):
        single = fol_train.run(smoke(seed), str(tmp_path / f"s{seed}"), log=quiet)
        swept = sweep_two_seeds["per_seed"][i]
        assert swept["seed"] == seed
        np.testing.assert_allclose(swept["final"]["eval_regret"], single["final"]["eval_regret"], rtol=1e-5)
        np.testing.assert_allclose(swept["initial"]["eval_regret"], single["initial"]["eval_regret"], rtol=1e-6)
        np.testing.assert_allclose(swept["ftrl"]["eval_regret"], single["ftrl"]["eval_regret"], rtol=1e-6)
    pooled = sweep_two_seeds["final"]["eval_regret"]
    assert pooled["mean"] == pytest.approx(np.mean(pooled["values"]))
    assert sweep_two_seeds["finite"] and len(sweep_two_seeds["trace_eval_regret"]) == 2
    # Different seeds train different models: the sweep did not broadcast one seed.
    assert pooled["values"][0] != pooled["values"][1]


def test_t_interval_matches_scipy():
    for df in (1, 2, 4, 9, 29):
        assert intervals.t_quantile(0.975, df) == pytest.approx(stats.t.ppf(0.975, df), rel=1e-5)
    x = [1.0, 2.0, 4.0, 3.5, 0.5]
    lo, hi = stats.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=stats.sem(x))
    assert intervals.mean_ci95(x)["ci95"] == pytest.approx((hi - lo) / 2, rel=1e-5)
    assert np.isnan(intervals.mean_ci95([2.0])["ci95"])
    with pytest.raises(ValueError, match="prob"):
        intervals.t_quantile(0.3, 4)


def test_arm_config_overrides_and_one_round():
    base = smoke(num_iterations=4)
    one = fol_study.arm_config(base, {"one_round": True})
    assert (one.rmft.num_iterations, one.sft.num_steps) == (1, 4 * base.sft.num_steps)
    assert base.rmft.num_iterations == 4  # the base is not modified
    assert fol_study.arm_config(base, {"rmft.selection": "random"}).rmft.selection == "random"
    with pytest.raises(ValueError, match="names no config field"):
        fol_study.arm_config(base, {"rmft.no_such_field": 1})


def test_verdicts_read_the_intervals():
    def arm(values):
        return {"final": {"eval_regret": intervals.mean_ci95(values)}}

    results = {
        "iteration": {"arms": {"iterative": arm([1.0, 1.1, 0.9]), "one_round": arm([3.0, 3.2, 2.8])}},
        "selection_adversarial": {
            "arms": {"regret": arm([1.0, 1.2]), "reward": arm([1.0, 1.2]), "random": arm([2.0, 2.5])}
        },
    }
    lines = fol_study.verdicts(results)
    assert lines["iteration"].startswith("reproduced")
    assert lines["selection_adversarial"].startswith("identical")
    results["iteration"]["arms"]["one_round"] = arm([1.0, 1.2, 0.8])
    assert fol_study.verdicts(results)["iteration"].startswith("not reproduced")


@pytest.mark.slow  # the whole study CLI, 2 seeds x 6 arms + bandit arms: about 2 minutes
def test_ablations_cli_smoke(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "experiments.ablations",
            "--config=experiments/configs/ablations.py:smoke",
            f"--workdir={tmp_path}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    arms = results["studies"]["iteration"]["arms"]
    assert set(arms) == {"iterative", "one_round"}
    assert len(arms["iterative"]["per_seed"]) == 2 and "iteration" in results["verdicts"]
    settings = results["studies"]["generalization"]["settings"]
    assert set(settings) == {"train mix, T=24", "uniform, T=12", "train mix, A=3 (shared model)"}
    assert settings["train mix, A=3 (shared model)"]["model_name"] == "shared_linear_attention"
    assert settings["train mix, A=3 (shared model)"]["hedge_eta"]["mean"] > 0
    assert set(results["studies"]["shared_model"]["arms"]) == {"full", "shared"}
    assert results["verdicts"]["shared_model"].split(":")[0] in (
        "full model better",
        "shared model better",
        "no significant difference",
    )
    for row in settings.values():
        assert row["hedge_tuned"]["mean"] > 0 and np.isfinite(row["model"]["mean"])
    assert (tmp_path / "ablations.png").stat().st_size > 0
    # The bandit study: both arms, five numbers per arm over the two seeds, the one-round arm's budget.
    bandit = results["studies"]["bandit"]["mab_iteration"]
    assert set(bandit["arms"]) == {"iterative", "one_round"} and bandit["seeds"] == [0, 1]
    for arm in bandit["arms"].values():
        assert len(arm["final"]["regret"]["values"]) == 2 and arm["reference"]["name"] == "thompson"
    assert bandit["arms"]["one_round"]["overrides"] == {"one_round": True}
    assert results["verdicts"]["mab_iteration"].split(":")[0] in ("reproduced", "not reproduced")
    assert (tmp_path / "bandit_ablations.png").stat().st_size > 0
    # docs/results.md is generated from results files: check the generator on this one.
    runs = tmp_path / "runs"
    runs.mkdir()
    os.symlink(tmp_path, runs / "ablations")
    text = make_results.write(make_results.load(str(runs)), str(runs), str(tmp_path / "results.md"))
    iterative = arms["iterative"]["final"]["eval_regret"]
    assert f"| iterative | {iterative['mean']:.2f} ± {iterative['ci95']:.2f}" in text
    assert "## Claim 5: the fixed point is near FTRL\n\nNot run yet." in text
    one = bandit["arms"]["one_round"]["final"]["regret"]
    assert f"| one_round | {one['mean']:.2f} ± {one['ci95']:.2f}" in text
    assert (tmp_path / "figures" / "ablations_ablations.png").exists()
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "experiments.ablations",
            "--config=experiments/configs/ablations.py:smoke",
            "--config.studies=('nope',)",
            f"--workdir={tmp_path}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0 and "unknown study" in bad.stderr and "Traceback" not in bad.stderr


def test_bandit_arm_config_and_bad_studies_fail_before_training(tmp_path):
    base = mab_config.get_config("smoke")
    cfg = bandit_study.arm_config(base, {"one_round": True, "rmft.selection": "reward"}, [3, 4, 5])
    assert (cfg.seed, cfg.inits.scratch, cfg.inits.greedy) == (3, 3, 0)
    assert (cfg.rmft.num_iterations, cfg.sft.num_steps) == (1, base.rmft.num_iterations * base.sft.num_steps)
    assert cfg.rmft.selection == "reward" and base.rmft.selection == "regret"
    bases = {"mab": base, "nsmab": base}
    with pytest.raises(ValueError, match="consecutive seeds"):
        bandit_study.run_studies(bases, ("mab_iteration",), [0, 2], str(tmp_path))
    with pytest.raises(ValueError, match="unknown bandit study"):
        bandit_study.run_studies(bases, ("mab_iteration", "nope"), [0, 1], str(tmp_path))
    bad = base.copy_and_resolve_references()
    bad.rmft.num_rollouts = 2  # k = 4 > L = 2: every arm is validated before the first trains
    with pytest.raises(ValueError, match="cannot exceed"):
        bandit_study.run_studies({"mab": bad}, ("mab_iteration",), [0, 1], str(tmp_path))
    assert not os.path.exists(tmp_path / "bandit")


def test_bandit_verdicts_read_the_intervals():
    def arm(values):
        return {"final": {"regret": intervals.mean_ci95(values)}}

    results = {
        "nsmab_selection": {
            "arms": {
                "regret": arm([10.0, 10.2, 9.9]),
                "reward": arm([12.0, 12.3, 11.8]),
                "random": arm([14.0, 14.1, 13.9]),
            }
        },
        "mab_iteration": {"arms": {"iterative": arm([9.0, 9.2]), "one_round": arm([9.1, 9.3])}},
    }
    lines = bandit_study.verdicts(results)
    assert lines["nsmab_selection"].startswith("regret better") and "random 14.00" in lines["nsmab_selection"]
    assert lines["mab_iteration"].startswith("not reproduced")
    results["nsmab_selection"]["arms"]["reward"] = arm([8.0, 8.1, 7.9])
    assert bandit_study.verdicts(results)["nsmab_selection"].startswith("reward better")
    results["nsmab_selection"]["arms"]["reward"] = arm([10.1, 10.3, 9.8])
    assert bandit_study.verdicts(results)["nsmab_selection"].startswith("no significant difference")
