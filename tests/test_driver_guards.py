"""The driver refuses what it cannot own: bad driver fields, orphaned or future checkpoints, damaged files.

Every refusal is a ValueError (one line at the command line) raised before config.json is written, so the
corrected command is accepted in the same workdir.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from experiments.configs import fol_single_layer
from rmft_jax.training import fol_train, workdir_files


def quiet(msg):
    return None


def smoke(num_iterations=2, **fields):
    cfg = fol_single_layer.get_config("smoke")
    cfg.rmft.num_iterations = num_iterations
    for dotted, value in fields.items():
        section, leaf = dotted.split("__")
        cfg[section][leaf] = value
    return cfg


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished two-iteration smoke workdir (checkpoints at 1 and 2)."""
    workdir = str(tmp_path_factory.mktemp("trained"))
    return workdir, fol_train.run(smoke(), workdir, log=quiet)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"checkpoint__every": 0}, "checkpoint.every must be an integer >= 1"),
        ({"checkpoint__max_to_keep": 0}, "checkpoint.max_to_keep must be an integer >= 1"),
        ({"sft__num_steps": 0}, "sft.num_steps must be an integer >= 1"),
        ({"sft__learning_rate": float("inf")}, "inf or nan in: sft.learning_rate"),
        ({"rmft__noise_std": float("nan")}, "inf or nan in: rmft.noise_std"),
        ({"eval__eta_grid": (0.5, float("inf"))}, "inf or nan in: eval.eta_grid"),
    ],
)
def test_bad_fields_are_refused_before_config_json_is_written(tmp_path, fields, message):
    with pytest.raises(ValueError, match=message):
        fol_train.run(smoke(**fields), str(tmp_path), log=quiet)
    assert not os.path.exists(tmp_path / "config.json")  # the corrected command is not refused as "changed"
    fol_train.run(smoke(num_iterations=1), str(tmp_path), log=quiet)


def test_checkpoints_without_config_json_are_refused(trained, tmp_path):
    workdir = str(tmp_path / "w")
    shutil.copytree(trained[0], workdir)
    os.remove(os.path.join(workdir, "config.json"))
    with pytest.raises(ValueError, match="has checkpoints but no config.json"):
        fol_train.run(smoke(**{"sft__learning_rate": 1e-3}), workdir, log=quiet)
    assert not os.path.exists(os.path.join(workdir, "config.json"))


def test_lowering_num_iterations_below_the_newest_checkpoint_is_refused(trained, tmp_path):
    workdir = str(tmp_path / "w")
    shutil.copytree(trained[0], workdir)
    before = workdir_files.load_json(os.path.join(workdir, "config.json"))
    with pytest.raises(ValueError, match=r"iteration 2, past rmft.num_iterations = 1.*num_iterations=2"):
        fol_train.run(smoke(num_iterations=1), workdir, log=quiet)
    assert workdir_files.load_json(os.path.join(workdir, "config.json")) == before
    again = fol_train.run(smoke(num_iterations=2), workdir, log=quiet)  # the suggested command reports it
    assert again["final"] == trained[1]["final"]


@pytest.mark.parametrize(
    "name, advice",
    [("config.json", "restore it, or use a fresh"), ("config_history.json", "which learning rate trained")],
)
def test_a_damaged_identity_file_is_refused_with_the_file_named(trained, tmp_path, name, advice):
    workdir = str(tmp_path / "w")
    shutil.copytree(trained[0], workdir)
    with open(os.path.join(workdir, name), "w") as fh:
        fh.write("{garbage")
    with pytest.raises(ValueError, match=rf"{name} is not valid JSON .*{advice}"):
        fol_train.run(smoke(), workdir, log=quiet)


def test_damaged_results_and_a_missing_figure_of_a_finished_run_are_rebuilt(trained, tmp_path):
    workdir = str(tmp_path / "w")
    shutil.copytree(trained[0], workdir)
    with open(os.path.join(workdir, "results.json"), "w") as fh:
        fh.write("{garbage")
    os.remove(os.path.join(workdir, "regret_curves.png"))  # as if writing it had failed (then results.json: none)
    lines = []
    rebuilt = fol_train.run(smoke(), workdir, log=lines.append)
    assert any("re-evaluating the finished run" in line for line in lines)
    assert not any(line.startswith("iter ") for line in lines)  # nothing retrains
    assert rebuilt["final"] == json.loads(json.dumps(trained[1]["final"]))
    assert workdir_files.load_json(os.path.join(workdir, "results.json"))["final"] == rebuilt["final"]
    assert os.path.exists(os.path.join(workdir, "regret_curves.png"))
    assert rebuilt["figures"] == ["regret_curves.png", "training_curves.png"]
    os.remove(os.path.join(workdir, "training_curves.png"))  # a figure gone from a finished run: redrawn
    lines = []
    fol_train.run(smoke(), workdir, log=lines.append)
    assert any("figure training_curves.png is missing" in line for line in lines)
    assert os.path.exists(os.path.join(workdir, "training_curves.png"))


@pytest.mark.parametrize(
    "args, override, nearest",
    [
        (["--config=experiments/configs/fol_single_layer.py:smoke"], "--config.rmft.foo=1", "rmft.foo -> "),
        # Without --config the default config's overrides are applied when the flag is defined: the same line.
        ([], "--config.rmft.num_iteratons=3", "rmft.num_iteratons -> rmft.num_iterations"),
    ],
)
def test_an_unknown_config_field_is_one_line_with_the_nearest_names(tmp_path, args, override, nearest):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cmd = [sys.executable, "-m", "experiments.fol_single_layer", *args, f"--workdir={tmp_path}", override]
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "names no field" in lines[0] and override in lines[0]
    assert f"nearest valid names: {nearest}" in lines[0]
    assert not os.listdir(tmp_path)  # nothing written


def test_a_damaged_metrics_file_of_a_finished_run_is_rewritten_from_the_checkpoint(trained, tmp_path):
    workdir = str(tmp_path / "w")
    shutil.copytree(trained[0], workdir)
    path = os.path.join(workdir, "metrics.jsonl")
    with open(path) as fh:
        before = fh.read()
    with open(path, "w") as fh:
        fh.write("garbage\n" + before)
    lines = []
    again = fol_train.run(smoke(), workdir, log=lines.append)
    assert any("metrics.jsonl is damaged" in line for line in lines)
    assert again["final"] == json.loads(json.dumps(trained[1]["final"]))
    with open(path) as fh:
        assert fh.read() == before
