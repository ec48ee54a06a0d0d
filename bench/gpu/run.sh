#!/usr/bin/env bash
# GPU numbers on a machine with an NVIDIA GPU, nvcc, CMake and ninja but no network (see bench/gpu/README.md):
#   1. build llama-cpp-python with CUDA from the carried, slimmed sdist, for this GPU's architecture only,
#   2. install the project's needs from the carried wheels (into a folder on PYTHONPATH; the tree runs as is),
#   3. write Qwen3-0.6B- and Qwen3-4B-shaped GGUFs (random Q8_0 weights, end of generation never sampled),
#   4. run the rewrite suite with every layer on the GPU: direct llama-cpp-python, mcp-open's engine in this process
#      with and without speculative decoding, and MCP over stdio (the server's own engine process where it has one)
#      with and without it.
# bash bench/gpu/run.sh              the real run (about 10 minutes on one H100, the build included)
# bash bench/gpu/run.sh --rehearse   the same steps on a CPU here: no build or install (this venv's llama-cpp-python),
#                                    a small model of the same code path, a few tokens; checks the carried sdist's
#                                    CMake configuration instead of building it
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CARRY="$ROOT/bench/gpu/carry"
VERSION=0.3.36
WORK=${WORK:-/tmp/mcp-open-gpu}
RESULTS=${OUT:-$ROOT/bench/results}/gpu
REHEARSE=0
[[ "${1:-}" == "--rehearse" ]] && REHEARSE=1
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
mkdir -p "$WORK" "$RESULTS"
started=$(date +%s)
step() { echo "== [$(($(date +%s) - started)) s] $*"; }

unpack_sdist() {
  rm -rf "$WORK/src" && mkdir -p "$WORK/src"
  tar xJf "$CARRY/llama_cpp_python-$VERSION-slim.tar.xz" -C "$WORK/src"
  echo "$WORK/src/llama_cpp_python-$VERSION"
}

if [[ $REHEARSE == 1 ]]; then
  step "rehearsal: CMake configuration of the carried sdist (CPU backend; the GPU run adds -DGGML_CUDA=on)"
  src=$(unpack_sdist)
  cmake -S "$src" -B "$WORK/configure" -G Ninja -DLLAVA_BUILD=OFF -DGGML_CUDA_NCCL=OFF >"$WORK/configure.log" 2>&1 \
    || { tail -30 "$WORK/configure.log"; exit 1; }
  echo "configured: $(grep -c '' "$WORK/configure.log") lines of CMake output, no error"
  SHAPES="rehearsal"
  GPU_LAYERS=0
  BENCH=(--repeats 1 --rewrite-tokens 16 --threads 1)
  export PYTHONPATH="$ROOT"
else
  arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d '.')
  step "building llama-cpp-python $VERSION with CUDA for sm_$arch only"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  src=$(unpack_sdist)
  # FlashAttention kernels are most of a CUDA build and mcp-open leaves flash attention off unless asked.
  export CMAKE_ARGS="-DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=$arch -DGGML_CUDA_FA=OFF -DGGML_CUDA_NCCL=OFF -DLLAVA_BUILD=OFF"
  export CMAKE_BUILD_PARALLEL_LEVEL=$(nproc)
  $PY -m pip wheel -q --no-build-isolation --no-deps -w "$WORK/wheels" "$src" 2>&1 | tail -5
  step "installing the carried wheels"
  $PY -m pip install -q --no-index --no-deps --no-compile --upgrade --target "$WORK/site" \
    "$WORK"/wheels/llama_cpp_python-*.whl "$CARRY"/wheels/*.whl
  export PYTHONPATH="$ROOT:$WORK/site"
  $PY -c "import llama_cpp; assert llama_cpp.llama_supports_gpu_offload(), 'built without GPU offload'; print('llama.cpp GPU offload: yes')"
  SHAPES="qwen3-0.6b qwen3-4b"
  GPU_LAYERS=all
  BENCH=(--repeats 3 --rewrite-tokens 128)
fi

models=()
for shape in $SHAPES; do
  step "writing a $shape-shaped GGUF"
  $PY -m bench.gpu.shapes "$shape" "$WORK/$shape.gguf"
  models+=(--model "$WORK/$shape.gguf")
done

step "rewrite suite, --gpu-layers $GPU_LAYERS"
$PY -m bench --rewrite "${models[@]}" --gpu-layers "$GPU_LAYERS" "${BENCH[@]}" --out "$RESULTS"
step "done; results in $RESULTS"
