#!/usr/bin/env bash
# Run here, where PyPI is reachable, before a GPU call: the wheels the GPU image lacks (for its Python 3.12 on
# x86-64) into .whl/, which the call carries (the GPU machines reach no network). Today that is ml_collections
# alone: its needs (absl-py, PyYAML) and the rest of the stack are in the image.
#
#   bash benchmarks/gpu_wheels.sh [DIR]        (default DIR: .whl in the repository root; gitignored)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-.whl}"
mkdir -p "$dir"
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d "$dir" "ml_collections==1.1.0"
ls "$dir"
