"""benchmarks/gpu.sh in its quick CPU mode, so the one-call accelerator run cannot rot between GPU sessions."""

import json
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_gpu_script_quick_mode_writes_its_json(tmp_path):
    done = subprocess.run(
        ["bash", "benchmarks/gpu.sh", str(tmp_path), "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "gpu.sh: test subset passed" in done.stdout and "jax " in done.stdout
    out = json.loads((tmp_path / "gpu_suite.json").read_text())
    assert out["quick"] is True and out["machine"]["backend"] == "cpu"
    for part in ("default", "scaled"):
        t = out["throughput"][part]
        assert t["rollout_trajectory_steps_per_s"] == t["M"] * t["L"] * t["T"] / t["rollout_s"]
        assert t["rollout_s"] > 0 and t["iteration_s"] > 0  # timings are the benchmark's to judge, not this test's
    assert out["throughput"]["scaled"]["M"] == 64 and "scaled_run" not in out  # quick mode skips the scaled run
    r = out["headline"]
    assert r["wall_s"] >= r["compile_s"] + r["train_s"] and r["held_out_regret"] > 0
    assert (tmp_path / "runs" / "headline" / "results.json").exists()


def test_gpu_script_stops_before_any_benchmark_when_the_test_subset_fails(tmp_path):
    env = {**os.environ, "RMFT_GPU_SUBSET": "tests/test_gpu_script.py::no_such_test"}
    done = subprocess.run(
        ["bash", "benchmarks/gpu.sh", str(tmp_path), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 3, done.stderr[-3000:]
    assert "the fast test subset (tests/test_gpu_script.py::no_such_test) fails with jax" in done.stderr
    assert not (tmp_path / "gpu_suite.json").exists() and (tmp_path / "subset_tests.log").exists()
