"""Files later runs read are written atomically: a writer killed at any moment leaves the old file or the new."""

import json
import os
import signal
import subprocess
import sys
import time

import ml_collections
import numpy as np
import pytest

from rmft_jax.training import workdir_files

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

WRITER = """
import sys
from rmft_jax.training import workdir_files
path = sys.argv[1]
payloads = [{"version": v, "values": [v] * 400_000} for v in (0, 1)]
print("writing", flush=True)
i = 0
while True:
    workdir_files.write_json_atomic(path, payloads[i % 2])
    i += 1
"""


def test_killed_writer_never_leaves_a_truncated_file(tmp_path):
    path = str(tmp_path / "results.json")
    rng = np.random.default_rng(0)
    for trial in range(4):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, path], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert writer.stdout.readline().strip() == "writing"
        if trial == 0:  # the first trial may kill before any rename, later ones find a file and overwrite it
            time.sleep(0.05 * rng.random())
        else:
            deadline = time.monotonic() + 60
            while not os.path.exists(path) and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.3 * rng.random())  # most kills land inside a later write of ~2.4 MB
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        if not os.path.exists(path):
            continue  # killed before its first rename: no file, which a later run handles
        with open(path) as fh:
            content = json.load(fh)  # a truncated file would raise here
        assert content["version"] in (0, 1) and len(content["values"]) == 400_000
        assert set(content["values"]) == {content["version"]}
    assert os.path.exists(path)  # the later trials overwrote a complete file


def test_config_json_is_checked_on_resume(tmp_path):
    cfg = ml_collections.ConfigDict({"rmft": {"num_iterations": 3, "lr": 0.1}, "checkpoint": {"every": 1}})
    workdir_files.check_config(cfg, str(tmp_path))
    cfg.rmft.num_iterations, cfg.checkpoint.every = 10, 5  # resumable: more iterations, another cadence
    workdir_files.check_config(cfg, str(tmp_path))
    assert workdir_files.load_config(str(tmp_path)).checkpoint.every == 5
    cfg.rmft.lr = 0.2
    with pytest.raises(ValueError, match="changed: rmft.lr"):
        workdir_files.check_config(cfg, str(tmp_path))
