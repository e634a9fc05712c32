"""One writer per workdir: a second run is refused at once, and a killed holder never blocks a resume."""

import os
import signal
import subprocess
import sys

import pytest

from experiments.configs import fol_single_layer, mab
from rmft_jax.training import bandit_train, fol_train, workdir_lock

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_second_run_in_a_busy_workdir_is_refused_before_writing(tmp_path):
    workdir = str(tmp_path / "busy")
    os.makedirs(workdir)
    with workdir_lock.hold(workdir):
        with pytest.raises(workdir_lock.WorkdirBusy, match=f"in use by another run \\(pid {os.getpid()}\\)"):
            fol_train.run(fol_single_layer.get_config("smoke"), workdir, log=lambda m: None)
        with pytest.raises(workdir_lock.WorkdirBusy):
            bandit_train.run(mab.get_config("smoke"), workdir, log=lambda m: None)
        # A separate process (the CLI) is refused with one line, not a traceback.
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "experiments.fol_single_layer",
                "--config=experiments/configs/fol_single_layer.py:smoke",
                f"--workdir={workdir}",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 1 and "is in use by another run" in done.stderr
        assert "Traceback" not in done.stderr
    assert sorted(os.listdir(workdir)) == [workdir_lock.LOCK_NAME]  # the refused runs wrote nothing


def test_lock_of_a_killed_process_is_released(tmp_path):
    workdir = str(tmp_path / "killed")
    os.makedirs(workdir)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from rmft_jax.training import workdir_lock\n"
            f"with workdir_lock.hold({workdir!r}):\n"
            "    print('held', flush=True); time.sleep(600)",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(workdir_lock.WorkdirBusy, match=f"pid {holder.pid}"):
            with workdir_lock.hold(workdir):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    with workdir_lock.hold(workdir):  # the kernel dropped the dead holder's lock: a resume may start
        pass
    with workdir_lock.hold(workdir):  # and a finished holder released it too
        pass
