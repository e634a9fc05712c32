#!/usr/bin/env bash
# The accelerator run in one call (budget: 8 minutes on one H100-class GPU): the JAX that is there, the packages
# it lacks from carried wheels, a fast test subset on that JAX, then the benchmarks, the headline run and a scaled
# run (M = 4096), as JSON in OUT_DIR.
#
#   bash benchmarks/gpu_wheels.sh                 here, with PyPI: the missing wheels into .whl/ (carry it)
#   bash benchmarks/gpu.sh OUT_DIR                on the GPU machine, from the repository root
#   bash benchmarks/gpu.sh OUT_DIR --quick        smoke sizes on whatever JAX finds (the tests run this on a CPU)
#
# The GPU image has its own jax (0.11 with the CUDA 13 plugin), newer than the project's pin (jax<0.11, what PyPI
# serves here), so the project is put on the path without its dependencies and that JAX is used as it is, once
# it has passed the test subset. Exit codes: 2 a package is missing, 3 the subset fails on this JAX.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:?usage: bash benchmarks/gpu.sh OUT_DIR [--quick]}"
quick="${2:-}"
mkdir -p "$out"
py="${PYTHON:-python3}"

# 1. JAX: the one present when it already sees a GPU; where none does and a network is, the CUDA extra.
if [ "$quick" != "--quick" ] && ! "$py" -c "import jax; assert jax.default_backend() == 'gpu'" 2>/dev/null; then
  echo "gpu.sh: no JAX here sees a GPU; installing the CUDA extra (needs a network)" >&2
  "$py" -m pip install --quiet -e '.[cuda12]'
fi

# 2. What the image lacks, from the carried wheels, without the network; the project itself without dependencies.
if compgen -G ".whl/*.whl" >/dev/null; then
  site="$(mktemp -d)/site"
  "$py" -m pip install --quiet --no-index --no-deps --no-compile --no-cache-dir --target "$site" .whl/*.whl
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if ! "$py" -c "import ml_collections, flax, optax, orbax.checkpoint, chex, absl, matplotlib, rmft_jax" 2>"$out/imports.log"; then
  tail -3 "$out/imports.log" >&2
  echo "gpu.sh: a package is missing on this machine (above); run 'bash benchmarks/gpu_wheels.sh' where PyPI is" \
    "reachable and carry .whl" >&2
  exit 2
fi
jax_line="$("$py" -c "import jax; print(f'jax {jax.__version__} on {jax.default_backend()}: {jax.devices()}')")"
echo "gpu.sh: $jax_line"

# 3. That JAX first: models, regret and one FOL run end to end (checkpoint, resume, results) before any benchmark.
if [ -n "${RMFT_GPU_SUBSET:-}" ]; then  # another subset (the tests use it to check the failure path)
  read -r -a subset <<<"$RMFT_GPU_SUBSET"
elif [ "$quick" = "--quick" ]; then  # one test: the path is what quick mode checks
  subset=(tests/test_regret.py -k batched_curves_match_single)
else
  subset=(tests/test_models.py tests/test_regret.py tests/test_fol_train.py)
fi
if [ "$quick" != "--quick" ]; then
  # tests/conftest.py pins the tests to the CPU unless JAX_PLATFORMS is set: here they must run on the GPU.
  export JAX_PLATFORMS="${JAX_PLATFORMS:-cuda}"
fi
start=$SECONDS
workers=()  # the image has pytest-xdist: 4 workers on its 16 cores (about 100 s of tests on one CPU core here)
if [ "$quick" != "--quick" ] && "$py" -c "import xdist" 2>/dev/null; then workers=(-n 4); fi
if ! "$py" -m pytest -q -x -o addopts="" -p no:cacheprovider -m "not slow" "${workers[@]}" "${subset[@]}" \
  >"$out/subset_tests.log" 2>&1; then
  tail -25 "$out/subset_tests.log" >&2
  echo "gpu.sh: the fast test subset (${subset[*]}) fails with $jax_line; no benchmark was run" \
    "(log: $out/subset_tests.log)" >&2
  exit 3
fi
echo "gpu.sh: test subset passed in $((SECONDS - start)) s ($(tail -1 "$out/subset_tests.log"))"

# 4. The benchmarks.
"$py" -m benchmarks.gpu_suite --out "$out" ${quick:+--quick}
if [ "$quick" != "--quick" ]; then
  "$py" -m benchmarks.bench_rmft --out "$out/rmft_gpu.json"
  "$py" -m benchmarks.bench_baselines --out "$out/baselines_gpu.json"
fi
echo "wrote $out"
