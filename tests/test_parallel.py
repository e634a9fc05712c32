"""Data parallelism: 8 forced CPU devices give one device's numbers; opt-in config and its errors."""

import functools
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from experiments.configs import fol_single_layer
from rmft_jax import parallel
from rmft_jax.tasks.fol import task as fol
from rmft_jax.training import fol_train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Runs in a fresh interpreter: XLA_FLAGS must be set before jax initializes its CPU backend.
SCRIPT = r"""
import json, sys, tempfile
import jax, jax.numpy as jnp, numpy as np
from experiments.configs import fol_single_layer
from rmft_jax import parallel
from rmft_jax.tasks.fol import task as fol
from rmft_jax.training import fol_train

assert jax.device_count() == 8, jax.devices()
out = {}
for model in sys.argv[1].split(","):
    cfg = fol_single_layer.get_config("smoke")
    cfg.rmft.num_scenarios, cfg.rmft.num_rollouts = 64, 4
    if model == "transformer":
        del cfg.model.init_scale, cfg.model.prefix_sum
        cfg.model.name, cfg.model.d_model, cfg.model.num_layers = "transformer", 16, 1
    settings, env = fol.FOLSettings.from_config(cfg), fol.build_env(cfg)
    graphdef, params0 = fol.build_model(cfg, seed=0)
    optimizer = fol.build_optimizer(cfg)
    runs = {}
    for n in (1, 8):
        mesh = parallel.make_data_mesh(n)
        params, opt_state = parallel.replicate(mesh, (params0, optimizer.init(params0)))
        key = parallel.replicate(mesh, jax.random.key(3))
        compiled = fol.make_iteration(env, graphdef, optimizer, settings, mesh).lower(params, opt_state, key).compile()
        hlo = compiled.as_text()
        metrics = []
        for it in range(2):
            params, opt_state, m = compiled(params, opt_state, jax.random.fold_in(key, it))
            metrics.append({k: float(v) for k, v in m.items()})
        flat = jax.tree_util.tree_flatten_with_path(params)[0]
        probe_NxTxA = jax.random.uniform(jax.random.key(7), (16, 12, 5))
        runs[n] = {"params": {jax.tree_util.keystr(p): np.asarray(x).tolist() for p, x in flat},
                   "logits": np.asarray(
                       jax.jit(lambda p, r: fol.models.apply(graphdef, p, r))(params, probe_NxTxA)
                   ).tolist(),
                   "metrics": metrics,
                   "all_reduce": hlo.count("all-reduce"), "local_targets": "f32[8,4,12,5]" in hlo,
                   "global_targets": "f32[64,4,12,5]" in hlo,
                   "param_sharding": str(jax.tree.leaves(params)[0].sharding)}
    out[model] = runs

results = {}
for n in ((1, 8) if sys.argv[2] == "driver" else ()):
    cfg = fol_single_layer.get_config("smoke")
    cfg.rmft.num_iterations, cfg.parallel.data_axis_size = 2, n
    with tempfile.TemporaryDirectory() as tmp:
        results[n] = fol_train.run(cfg, tmp, log=lambda msg: None)
out["driver"] = {n: {"iterations": [{k: v for k, v in r.items() if k != "seconds"} for r in res["iterations"]],
                     "final": res["final"]} for n, res in results.items()}
print("JSON" + json.dumps(out))
"""


@functools.cache
def run_on_eight_devices(models: str, driver: bool) -> dict:
    """Results of the script above on 8 forced host devices for these models (and the driver check);
    computed once per worker process: xdist can tear a module fixture down between its tests."""
    env = dict(
        os.environ,
        XLA_FLAGS="--xla_force_host_platform_device_count=8",
        JAX_PLATFORMS="cpu",
        PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, models, "driver" if driver else "-"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = [x for x in done.stdout.splitlines() if x.startswith("JSON")][-1]
    return json.loads(line[4:])


@pytest.fixture
def eight_devices():
    """The single-layer model on 8 devices (the default run)."""
    return run_on_eight_devices("linear_attention", driver=False)


@pytest.fixture
def eight_devices_transformer():
    """The transformer and the driver on 8 devices (slow: about a minute more on 2 cores)."""
    return run_on_eight_devices("transformer", driver=True)


def sharded(request, model: str) -> dict:
    """The 8-device results of `model`."""
    return request.getfixturevalue("eight_devices" if model == "linear_attention" else "eight_devices_transformer")


MODELS = ["linear_attention", pytest.param("transformer", marks=pytest.mark.slow)]


@pytest.mark.parametrize("model", MODELS)
def test_eight_devices_match_one_device(request, model):
    one, eight = sharded(request, model)[model]["1"], sharded(request, model)[model]["8"]
    for path, a in one["params"].items():
        a, b = np.asarray(a), np.asarray(eight["params"][path])
        if "qkv" in path and "bias" in path:
            # Softmax attention ignores the key bias: its true gradient is 0, so Adam turns rounding noise
            # (which differs with the summation order) into full-size steps. Compare the rest of the bias.
            d = a.shape[-1] // 3
            a, b = np.delete(a, np.s_[d : 2 * d], -1), np.delete(b, np.s_[d : 2 * d], -1)
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5, err_msg=path)
    np.testing.assert_allclose(eight["logits"], one["logits"], rtol=1e-4, atol=1e-5)  # the trained policies
    for m1, m8 in zip(one["metrics"], eight["metrics"], strict=True):
        assert m8 == pytest.approx(m1, rel=1e-4, abs=1e-5)
    assert one["metrics"][-1]["sft_loss"] != one["metrics"][0]["sft_loss_first"]  # it did train


@pytest.mark.parametrize("model", MODELS)
def test_eight_devices_really_split_the_scenarios(request, model):
    one, eight = sharded(request, model)[model]["1"], sharded(request, model)[model]["8"]
    # Each device holds 64 / 8 = 8 scenarios' targets, and gradients are summed across devices.
    assert eight["local_targets"] and not eight["global_targets"] and eight["all_reduce"] > 0
    assert one["global_targets"] and one["all_reduce"] == 0
    assert "'data': 8" in eight["param_sharding"] and "spec=P()" in eight["param_sharding"]


@pytest.mark.slow  # two driver runs on 8 devices; the iteration itself is checked on 8 devices by default
def test_driver_results_match_across_device_counts(eight_devices_transformer):
    one, eight = eight_devices_transformer["driver"]["1"], eight_devices_transformer["driver"]["8"]
    for r1, r8 in zip(one["iterations"], eight["iterations"], strict=True):
        assert r8 == pytest.approx(r1, rel=1e-4, abs=1e-5)
    assert eight["final"]["eval_regret"] == pytest.approx(one["final"]["eval_regret"], rel=1e-4)


def test_default_is_one_device_and_old_configs_read_as_one():
    cfg = fol_single_layer.get_config()
    assert parallel.data_axis_size(cfg) == 1 and parallel.make_data_mesh(1) is None
    del cfg.parallel  # a config.json written before the field existed
    assert parallel.data_axis_size(cfg) == 1


def test_old_workdir_without_parallel_field_resumes(tmp_path):
    old = fol_single_layer.get_config("smoke")
    del old.parallel
    (tmp_path / "config.json").write_text(old.to_json())
    fol_train.check_workdir_config(fol_single_layer.get_config("smoke"), str(tmp_path))  # no ValueError


def test_bad_device_counts_fail_clearly():
    cfg = fol_single_layer.get_config("smoke")
    cfg.parallel.data_axis_size = 3  # M = 16
    with pytest.raises(ValueError, match="divide rmft.num_scenarios"):
        fol.validate_config(cfg)
    with pytest.raises(ValueError, match="device.*XLA_FLAGS"):
        parallel.make_data_mesh(4096)
    with pytest.raises(ValueError, match="integer >= 1"):
        parallel.make_data_mesh(0)
