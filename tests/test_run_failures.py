"""A run that fails stops loudly and at once: divergence, a failed checkpoint save, unwritable workdirs, disk full.

Each failure ends with one line on stderr and exit code 1, and leaves nothing the corrected command trips on.
"""

import errno
import json
import os
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from experiments import cli
from experiments.configs import fol_single_layer
from rmft_jax.training import checkpoint, fol_train, train_loop

SMOKE = "--config=experiments/configs/fol_single_layer.py:smoke"


def quiet(msg):
    return None


def smoke(num_iterations=2, learning_rate=None):
    cfg = fol_single_layer.get_config("smoke")
    cfg.rmft.num_iterations = num_iterations
    if learning_rate is not None:
        cfg.sft.learning_rate = learning_rate
    return cfg


def command(workdir, *overrides, timeout=120):
    """The FOL smoke command in a subprocess -> (return code, stdout, stderr, seconds)."""
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "experiments.fol_single_layer", SMOKE, f"--workdir={workdir}", *overrides],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return done.returncode, done.stdout, done.stderr, time.perf_counter() - t0


def test_a_loss_out_of_bounds_is_divergence():
    first = {"sft_loss_first": 0.5}
    bound = train_loop.loss_out_of_bounds
    assert bound({"sft_loss_first": 1.6, "sft_loss": 1.5e3}, first, 1e3, False) is None
    assert "1000 x" in bound({"sft_loss_first": 1.6, "sft_loss": 1.7e3}, first, 1e3, False)
    assert bound({"sft_loss_first": 1.6, "sft_loss": 1e9}, first, 0.0, False) is None  # 0 = off
    # A near-zero first step counts as LOSS_FLOOR: a tiny loss growing 1000x is not divergence.
    assert bound({"sft_loss_first": 1e-7, "sft_loss": 1e-4}, first, 1e3, False) is None
    # Signed losses: |loss| against the run's first step, whatever the iteration's own first step.
    assert bound({"sft_loss_first": -400.0, "sft_loss": -400.0}, first, 1e3, True) is None
    assert "|loss| of the run's first step" in bound({"sft_loss_first": 0.0, "sft_loss": -600.0}, first, 1e3, True)


def test_a_diverging_learning_rate_stops_and_a_lower_one_resumes_in_the_same_workdir(tmp_path):
    workdir = str(tmp_path)
    with pytest.raises(train_loop.TrainingDiverged, match="iteration 1 diverged: loss .* sft.divergence_factor"):
        fol_train.run(smoke(learning_rate=1e4), workdir, log=quiet)
    first = fol_train.run(smoke(num_iterations=2), workdir, log=quiet)  # the advice is accepted here
    assert "config_history" not in first  # the diverged attempt trained nothing: one segment
    resumed = fol_train.run(smoke(num_iterations=3, learning_rate=1e-3), workdir, log=quiet)
    segments = [{"after_iteration": 0, "sft.learning_rate": 3e-3}, {"after_iteration": 2, "sft.learning_rate": 1e-3}]
    got = [{k: s[k] for k in ("after_iteration", "sft.learning_rate")} for s in resumed["config_history"]]
    assert got == segments
    with open(os.path.join(workdir, "config_history.json")) as fh:
        assert json.load(fh) == resumed["config_history"]

    # The segments are what ran: iterations 1-2 are those of the first call, iteration 3 is new.
    def untimed(records):
        return [{k: v for k, v in r.items() if k != "seconds"} for r in records]

    assert untimed(resumed["iterations"][:2]) == untimed(first["iterations"])
    assert len(resumed["iterations"]) == 3 and resumed["checkpoint_step"] == 3


def test_divergence_factor_is_validated(tmp_path):
    cfg = smoke()
    cfg.sft.divergence_factor = 0.5
    with pytest.raises(ValueError, match="sft.divergence_factor = 0.5"):
        fol_train.run(cfg, str(tmp_path), log=quiet)
    assert not os.path.exists(tmp_path / "config.json")


def chattr_works(path) -> bool:
    """Whether `chattr +i` makes a directory unwritable here (root ignores chmod)."""
    probe = os.path.join(path, "probe")
    os.makedirs(probe)
    try:
        if subprocess.run(["chattr", "+i", probe], capture_output=True).returncode != 0:
            return False
        try:
            open(os.path.join(probe, "x"), "w").close()
            return False
        except OSError:
            return True
    except FileNotFoundError:
        return False
    finally:
        subprocess.run(["chattr", "-i", probe], capture_output=True)


def test_a_failed_checkpoint_save_stops_the_process_at_once_with_one_line(tmp_path):
    if not chattr_works(str(tmp_path)):
        pytest.skip("chattr +i does not make a directory unwritable on this file system")
    workdir = str(tmp_path / "w")
    assert command(workdir, "--config.rmft.num_iterations=2")[0] == 0
    ckpt_dir = os.path.join(workdir, "checkpoints")
    subprocess.run(["chattr", "+i", ckpt_dir], check=True)
    try:
        rc, _, err, seconds = command(workdir, "--config.rmft.num_iterations=8", timeout=60)
    finally:
        subprocess.run(["chattr", "-i", ckpt_dir], check=True)
    assert rc == 1 and seconds < 30
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: saving a checkpoint in") and "checkpoint 2 is" in lines[0]
    assert max(int(d) for d in os.listdir(ckpt_dir) if d.isdigit()) == 2
    rc, out, _, _ = command(workdir, "--config.rmft.num_iterations=4")  # writable again: resumes and finishes
    assert rc == 0 and "resumed from checkpoint 2" in out


def test_a_workdir_that_is_a_file_is_one_line(tmp_path):
    path = tmp_path / "file"
    path.write_text("not a directory")
    rc, _, err, _ = command(str(path))
    assert rc == 1 and len(err.strip().splitlines()) == 1 and str(path) in err


def test_only_closed_loop_errors_of_background_threads_are_dropped(capsys):
    seen = []
    default, sys.__unraisablehook__ = sys.__unraisablehook__, seen.append
    try:
        cli.drop_closed_loop_errors(SimpleNamespace(exc_value=RuntimeError("Event loop is closed")))
        assert not seen
        other = SimpleNamespace(exc_value=RuntimeError("something else"))
        cli.drop_closed_loop_errors(other)
        assert seen == [other]  # anything else reaches the default hook
    finally:
        sys.__unraisablehook__ = default


def test_a_full_disk_inside_orbax_is_named_as_such():
    long = "RESOURCE_EXHAUSTED: Error writing local file " + "/p" * 200 + ": No space left on device"
    assert checkpoint._reason(ValueError(long)) == "no space left on device"
    assert checkpoint._reason(OSError(errno.ENOSPC, "No space left on device")) == "no space left on device"
    assert checkpoint._reason(PermissionError(13, "Permission denied")).startswith("PermissionError")


def test_disk_full_is_one_line_naming_the_file():
    line = cli.os_error_line(OSError(errno.ENOSPC, "No space left on device", "/w/metrics.jsonl"))
    assert line.startswith("error: no space left on device (/w/metrics.jsonl)") and "rerun" in line


def edit_metrics(workdir, edit):
    """Rewrite metrics.jsonl's lines through edit(lines) -> lines."""
    path = os.path.join(workdir, "metrics.jsonl")
    with open(path) as fh:
        lines = fh.read().splitlines()
    with open(path, "w") as fh:
        fh.write("".join(line + "\n" for line in edit(lines)))


@pytest.fixture()
def half_trained(tmp_path):
    """A smoke workdir trained 3 of 5 iterations (checkpoints every iteration)."""
    workdir = str(tmp_path / "half")
    fol_train.run(smoke(num_iterations=3), workdir, log=quiet)
    return workdir


def test_metrics_that_disagree_with_the_checkpoint_history_are_refused(half_trained):
    def shift(lines):
        record = json.loads(lines[1])
        record["rollout_regret"] += 1.0
        return [lines[0], json.dumps(record), *lines[2:]]

    edit_metrics(half_trained, shift)
    with pytest.raises(checkpoint.CheckpointError, match="metrics.jsonl and the history record.*iteration 2"):
        fol_train.run(smoke(num_iterations=5), half_trained, log=quiet)


def test_a_torn_last_metrics_line_or_a_missing_one_resumes(half_trained):
    edit_metrics(half_trained, lambda lines: [*lines[:2], lines[2][:17]])  # killed mid-write of iteration 3's line
    results = fol_train.run(smoke(num_iterations=5), half_trained, log=quiet)
    assert [r["iteration"] for r in results["iterations"]] == [1, 2, 3, 4, 5]
    with open(os.path.join(half_trained, "metrics.jsonl")) as fh:
        assert [json.loads(line)["iteration"] for line in fh] == [1, 2, 3, 4, 5]


def test_garbage_inside_metrics_is_refused_with_the_file_named(half_trained):
    edit_metrics(half_trained, lambda lines: [lines[0], "garbage", *lines[2:]])
    with pytest.raises(checkpoint.CheckpointError, match="metrics.jsonl line 2 is not JSON.*delete"):
        fol_train.run(smoke(num_iterations=5), half_trained, log=quiet)


def test_results_and_the_policy_say_which_checkpoint_they_describe(half_trained):
    from rmft_jax.training.policy import load_policy

    with open(os.path.join(half_trained, "results.json")) as fh:
        assert json.load(fh)["checkpoint_step"] == 3
    with pytest.warns(UserWarning, match="checkpoint 3, not the trained model of iteration 5"):
        cfg_path = os.path.join(half_trained, "config.json")
        with open(cfg_path) as fh:
            cfg = json.load(fh)
        cfg["rmft"]["num_iterations"] = 5  # as a run of 5 iterations killed after its third
        with open(cfg_path, "w") as fh:
            json.dump(cfg, fh)
        policy = load_policy(half_trained)
    assert policy.step == 3 and not policy.final
    assert load_policy(half_trained, step=2).step == 2


@pytest.mark.parametrize("field", ["rmft.num_scenarios", "env.horizon", "env.num_actions"])
def test_sizes_that_cannot_fit_are_refused_before_anything_compiles(tmp_path, field):
    cfg = smoke()
    section, leaf = field.split(".")
    cfg[section][leaf] = 10**9
    with pytest.raises(ValueError, match="cannot fit in memory.*--config.memory_limit_gb"):
        fol_train.run(cfg, str(tmp_path), log=quiet)
    assert not os.path.exists(tmp_path / "config.json")


def test_the_size_estimate_is_the_documented_formula_and_the_override_works():
    from rmft_jax.tasks import settings

    cfg = smoke()
    m, el, t, a, e = 8, 4, 12, 5, cfg.eval.num_scenarios
    cfg.rmft.num_scenarios, cfg.rmft.num_rollouts = m, el
    assert settings.array_bytes_lower_bound(cfg) == 4 * (m * t * a + m * el * t + e * t * a)
    cfg.model.name = "transformer"
    assert settings.array_bytes_lower_bound(cfg) == 4 * (m * t * a + m * el * t + e * t * a + m * t * t)
    cfg.env.horizon = 10**6  # about 0.5 TB of reward tables and attention
    with pytest.raises(ValueError, match="cannot fit"):
        settings.check_memory(cfg)
    cfg.memory_limit_gb = 1e6  # the override: this run may use a million GiB
    settings.check_memory(cfg)
    cfg.memory_limit_gb = 1e-6
    cfg.env.horizon = 12
    with pytest.raises(ValueError, match="1e-06 GiB is available"):
        settings.check_memory(cfg)


class FullDisk:
    """A file object that writes `room` bytes, then raises ENOSPC (a disk that fills mid-write)."""

    def __init__(self, fh, room):
        self.fh, self.room = fh, room

    def write(self, text):
        self.fh.write(text[: self.room])
        if len(text) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name):
        return getattr(self.fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()


def test_a_full_disk_leaves_whole_metrics_lines_and_no_temporary_file(tmp_path, monkeypatch):
    import builtins

    from rmft_jax.training import workdir_files

    path = str(tmp_path / "metrics.jsonl")
    train_loop.write_metrics(path, [{"iteration": 1, "x": 0.5}])
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", lambda p, mode="r", *a, **k: FullDisk(real_open(p, mode, *a, **k), 7))
    with pytest.raises(OSError, match="No space left"):
        train_loop.append_metrics(path, {"iteration": 2, "x": 0.25})
    with pytest.raises(OSError, match="No space left"):
        workdir_files.write_json_atomic(str(tmp_path / "config.json"), {"a": 1})
    monkeypatch.setattr(builtins, "open", real_open)
    with open(path) as fh:
        assert [json.loads(line) for line in fh] == [{"iteration": 1, "x": 0.5}]  # the torn line was cut off
    assert sorted(os.listdir(tmp_path)) == ["metrics.jsonl"]  # no config.json.tmp.N left


def test_the_attack_refuses_a_bandit_workdir_in_one_line(tmp_path):
    from experiments.configs import attack, mab
    from rmft_jax.studies import attack_study
    from rmft_jax.training import workdir_files

    workdir_files.write_json_atomic(str(tmp_path / "config.json"), mab.get_config("smoke").to_dict())
    with pytest.raises(ValueError, match="holds a 'mab' run; the worst-case attack searches FOL reward tables"):
        attack_study.run(str(tmp_path), attack.get_config("smoke"), log=quiet)
    assert not os.path.exists(tmp_path / "attack.json")


def signalled(workdir, iterations, signum, at_line):
    """Start the smoke command, send `signum` once stdout shows `at_line` -> (return code, stderr)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "experiments.fol_single_layer",
            SMOKE,
            f"--workdir={workdir}",
            f"--config.rmft.num_iterations={iterations}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in proc.stdout:
        if line.startswith(at_line):
            proc.send_signal(signum)
            break
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


@pytest.mark.slow  # three subprocesses and a reference run: about 30 s
def test_sigint_and_sigterm_resume_to_the_numbers_of_an_uninterrupted_run(tmp_path):
    import signal

    total = 120
    reference = fol_train.run(smoke(num_iterations=total), str(tmp_path / "reference"), log=quiet)
    workdir = str(tmp_path / "stopped")
    rc, err = signalled(workdir, total, signal.SIGINT, "iter   10/")
    assert rc == 130 and err.strip().splitlines() == ["interrupted: the same command resumes from the last checkpoint."]
    rc, _ = signalled(workdir, total, signal.SIGTERM, "iter   60/")
    assert rc == -signal.SIGTERM
    rc, out, _, _ = command(workdir, f"--config.rmft.num_iterations={total}")
    assert rc == 0 and "resumed from checkpoint" in out
    with open(os.path.join(workdir, "results.json")) as fh:
        resumed = json.load(fh)

    def numbers(results):
        return {k: v for k, v in results.items() if k not in ("config", "iterations") and "seconds" not in k}

    assert numbers(resumed) == numbers(json.loads(json.dumps(reference)))
    untimed = [{k: v for k, v in r.items() if k != "seconds"} for r in resumed["iterations"]]
    assert untimed == [
        {k: v for k, v in r.items() if k != "seconds"} for r in json.loads(json.dumps(reference))["iterations"]
    ]


def test_a_save_failing_in_the_background_stops_training_before_the_next_iteration(tmp_path, monkeypatch):
    """Injected (works where chattr does not): the save of checkpoint 2 fails on orbax's thread."""
    manager_class = checkpoint.ocp.CheckpointManager
    failed = {}
    real_save = manager_class.save

    def save(self, step, *args, **kwargs):
        out = real_save(self, step, *args, **kwargs)
        if step == 2:
            failed["error"] = OSError(errno.ENOSPC, "No space left on device")
        return out

    def check_for_errors(self):
        if "error" in failed:
            raise failed["error"]

    monkeypatch.setattr(manager_class, "save", save)
    monkeypatch.setattr(manager_class, "check_for_errors", check_for_errors)
    workdir = str(tmp_path)
    with pytest.raises(checkpoint.CheckpointSaveError, match="no space left on device.*rerun the same command"):
        fol_train.run(smoke(num_iterations=6), workdir, log=quiet)
    with open(os.path.join(workdir, "metrics.jsonl")) as fh:
        assert [json.loads(line)["iteration"] for line in fh] == [1, 2]  # iteration 3 never ran


def small_tmpfs(path, size_kb):
    """Mount a tmpfs of `size_kb` at `path`; False where this machine does not allow it (not root, a container)."""
    os.makedirs(path, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", path], capture_output=True)
    return done.returncode == 0


@pytest.mark.slow  # a real full disk: a tmpfs, three subprocesses
def test_a_real_full_disk_is_one_line_and_the_run_resumes_once_there_is_space(tmp_path):
    mount = str(tmp_path / "small")
    if not small_tmpfs(mount, 8192):
        pytest.skip("cannot mount a tmpfs here")
    try:
        workdir = os.path.join(mount, "w")
        assert command(workdir, "--config.rmft.num_iterations=2")[0] == 0
        stat = os.statvfs(mount)
        filler = os.path.join(mount, "filler")
        with open(filler, "wb") as fh:  # leave about 16 KB: enough to start, not to finish six more iterations
            fh.write(b"\0" * max(stat.f_bavail * stat.f_frsize - 16 * 1024, 0))
        rc, _, err, seconds = command(workdir, "--config.rmft.num_iterations=8", timeout=60)
        assert rc == 1 and seconds < 30, err[-2000:]
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "no space left on device" in lines[0].lower(), err[-2000:]
        with open(os.path.join(workdir, "metrics.jsonl")) as fh:
            records = [json.loads(line) for line in fh.read().splitlines()]  # whole lines only
        assert [r["iteration"] for r in records] == list(range(1, len(records) + 1))
        assert not [n for n in os.listdir(workdir) if ".tmp" in n]  # no temporary file of ours left behind
        os.remove(filler)
        rc, out, err, _ = command(workdir, "--config.rmft.num_iterations=8")
        assert rc == 0 and "resumed from checkpoint" in out, err[-2000:]
        with open(os.path.join(workdir, "results.json")) as fh:
            results = json.load(fh)
        assert len(results["iterations"]) == 8 and all(
            os.path.exists(os.path.join(workdir, f)) for f in results["figures"]
        )
    finally:
        subprocess.run(["umount", "-l", mount], capture_output=True)
