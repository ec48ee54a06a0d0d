#!/usr/bin/env bash
# Run HERE (with network): fill bench/gpu/carry/ with what the offline GPU machine needs, under 64 MiB with the tree:
#   - llama-cpp-python's sdist without what a CUDA build never reads (vocab GGUFs, docs, tests, tools, other
#     backends): 74 MB as published, about 3 MB slimmed (xz),
#   - wheels for the project's dependencies that the GPU image lacks (Python 3.12, manylinux x86_64).
# Usage: bash bench/gpu/pack.sh            (then: run.sh on the GPU machine; see bench/gpu/README.md)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CARRY="$ROOT/bench/gpu/carry"
VERSION=0.3.36
PY=3.12
# What the GPU image already has (/work/.library/device/KINDS.md): never carried twice.
# Small pure-Python ones whose versions matter (anyio, typing_extensions, httpx) are carried anyway.
ON_IMAGE="attrs certifi charset_normalizer click filelock fsspec h11 hf_xet huggingface_hub idna
jinja2 lxml markdown_it_py markupsafe mdurl numpy packaging pygments pyyaml requests rich shellingham tqdm typer
urllib3 sortedcontainers pillow psutil protobuf"

grep -qxF '/bench/gpu/carry/' "$ROOT/.git/info/exclude" 2>/dev/null \
  || echo '/bench/gpu/carry/' >>"$(git -C "$ROOT" rev-parse --git-common-dir)/info/exclude"
rm -rf "$CARRY/wheels" && mkdir -p "$CARRY/wheels"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== llama-cpp-python $VERSION sdist, slimmed"
if [[ -f "$CARRY/llama_cpp_python-$VERSION-slim.tar.xz" ]]; then echo "(kept: delete it to repack)"; else
python3 -m pip download -q --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$work"
tar xzf "$work"/llama_cpp_python-$VERSION.tar.gz -C "$work"
src="$work/llama_cpp_python-$VERSION"
ls -l "$work"/llama_cpp_python-$VERSION.tar.gz
(
  cd "$src"
  rm -rf .git .github docker docs examples tests  # the sdist ships a git directory (39 MB)
  cd vendor/llama.cpp
  rm -rf models docs tests benches examples pocs scripts conversion tools gguf-py media
  cd ggml/src
  for backend in ggml-*/; do
    case "$backend" in ggml-cpu/ | ggml-cuda/ | ggml-blas/) ;; *) rm -rf "$backend" ;; esac
  done
)
tar cJf "$CARRY/llama_cpp_python-$VERSION-slim.tar.xz" -C "$work" "llama_cpp_python-$VERSION"
fi

echo "== wheels for Python $PY"
deps=$(python3 - "$ROOT/pyproject.toml" <<'EOF'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
skip = ("llama-cpp-python", "srt")  # srt is published as an sdist only: built below
# llama-cpp-python's own runtime needs (its wheel is built there with --no-deps)
print(" ".join([d for d in project["dependencies"] if not d.startswith(skip)] + ["diskcache>=5.6.1"]))
EOF
)
platforms=""
for n in 2_17 2_27 2_28 2_31 2_34; do platforms="$platforms --platform manylinux_${n}_x86_64"; done
# shellcheck disable=SC2086
python3 -m pip download -q --only-binary=:all: --python-version $PY --implementation cp $platforms \
  --platform manylinux2014_x86_64 -d "$work/all" $deps
python3 -m pip wheel -q --no-deps -w "$work/all" "srt>=3.5,<4"  # pure Python
for whl in "$work"/all/*.whl; do
  name=$(basename "$whl" | cut -d- -f1 | tr 'A-Z.' 'a-z_')
  if [[ " $(echo $ON_IMAGE) " == *" $name "* ]]; then continue; fi
  cp "$whl" "$CARRY/wheels/"
done
du -sh "$CARRY" "$CARRY"/* 
echo "carry bench/gpu/carry with the run (device tool: carry=[\"bench/gpu/carry\"])"
