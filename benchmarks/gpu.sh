#!/usr/bin/env bash
# The accelerator run in one call: install the CUDA extra, run the benchmarks, the headline run and a
# scaled run (M = 4096), and write JSON into OUT_DIR (budget: 8 minutes on one H100-class GPU).
#
#   bash benchmarks/gpu.sh OUT_DIR            on a GPU machine, from the repository root
#   bash benchmarks/gpu.sh OUT_DIR --quick    smoke sizes on whatever JAX finds (CI runs this on a CPU)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:?usage: bash benchmarks/gpu.sh OUT_DIR [--quick]}"
quick="${2:-}"
mkdir -p "$out"
if [ "$quick" != "--quick" ]; then
  pip install --quiet -e '.[cuda12]'
  python -c "import jax; assert jax.default_backend() == 'gpu', jax.devices(); print(jax.devices())"
fi
python -m benchmarks.gpu_suite --out "$out" ${quick:+--quick}
if [ "$quick" != "--quick" ]; then
  python -m benchmarks.bench_rmft --out "$out/rmft_gpu.json"
  python -m benchmarks.bench_baselines --out "$out/baselines_gpu.json"
fi
echo "wrote $out"
