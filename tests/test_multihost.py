"""Multi-host data parallelism on one machine: 2 processes x 2 CPU devices match a 1-device run (slow)."""

import json
import os
import socket
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASE = [
    sys.executable,
    "-m",
    "experiments.fol_single_layer",
    "--config=experiments/configs/fol_single_layer.py:smoke",
    "--config.rmft.num_iterations=2",
]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_two_processes_match_one_device(tmp_path):
    env = dict(os.environ, JAX_PLATFORMS="cpu", XLA_FLAGS="--xla_force_host_platform_device_count=2")
    single = subprocess.run(
        BASE + [f"--workdir={tmp_path / 'single'}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert single.returncode == 0, single.stderr[-2000:]
    port = free_port()
    procs = [
        subprocess.Popen(
            BASE
            + [
                f"--workdir={tmp_path / 'multi'}",
                "--config.parallel.data_axis_size=4",
                f"--coordinator_address=localhost:{port}",
                "--num_processes=2",
                f"--process_id={i}",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in outs]
    one = json.loads((tmp_path / "single" / "results.json").read_text())
    two = json.loads((tmp_path / "multi" / "results.json").read_text())
    assert two["final"]["eval_regret"] == pytest.approx(one["final"]["eval_regret"], rel=1e-4)
    for r1, r2 in zip(one["iterations"], two["iterations"], strict=True):
        assert r2["rollout_regret"] == pytest.approx(r1["rollout_regret"], rel=1e-4)
        assert r2["sft_loss"] == pytest.approx(r1["sft_loss"], rel=1e-4)
