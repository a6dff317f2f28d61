#!/usr/bin/env bash
# Builds llama.cpp's llama-bench, the peer of `jseek bench infer`, from a llama.cpp source release (CPU only,
# Release, -DGGML_NATIVE=ON, static; the build itself is tools/build-llama-cpp.sh's, shared with `bench serve`).
#
#   tools/build-llama-bench.sh                         # the llama.cpp release node-llama-cpp 3.21.1 ships (npm)
#   tools/build-llama-bench.sh --source pypi[=0.3.16]  # the llama.cpp vendored in PyPI's llama-cpp-python sdist
#
# npm (default): node-llama-cpp@3.21.1 carries its llama.cpp release as a git bundle: the llama.cpp LlamaCppOracleTest
#   runs on every type `jseek export` writes; built into ~/.cache/jseek/llama.cpp (with llama-batched-bench when that
#   is built too). pypi[=V]: `pip download --no-binary :all: llama-cpp-python==V` (default 0.3.16, whose vendored
#   llama.cpp reads deepseek2 GGUFs with the attn_k_b/attn_v_b tensors jseek writes), its vendor/llama.cpp built
#   into ~/.cache/jseek/llama.cpp-pypi-V. Needs git, cmake, a C++17 compiler (Debian: apt-get install git cmake g++;
#   installed here when run as root). The last line printed is the llama-bench path, for --llama-bench.
# 10-40 minutes on 2 cores; run it niced on a shared machine; rerunning reuses the build.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source_spec=npm
while [ $# -gt 0 ]; do
  case "$1" in
    --source) source_spec="$2"; shift 2 ;;
    --source=*) source_spec="${1#--source=}"; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "build-llama-bench.sh: unknown argument '$1' (use --source npm|pypi[=VERSION])" >&2; exit 2 ;;
  esac
done
missing=()
for t in git cmake c++; do command -v "$t" >/dev/null || missing+=("$t"); done
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq git cmake g++ >&2
fi
case "$source_spec" in
  npm) bin=$("$here/build-llama-cpp.sh" "$HOME/.cache/jseek/llama.cpp" llama-bench | tail -1) ;;
  pypi|pypi=*)
    version=0.3.16
    [ "$source_spec" != pypi ] && version="${source_spec#pypi=}"
    out="$HOME/.cache/jseek/llama.cpp-pypi-$version"
    if [ ! -f "$out/src/CMakeLists.txt" ]; then
      tmp=$(mktemp -d)
      python3 -m pip download --quiet --no-deps --no-binary :all: --dest "$tmp" "llama-cpp-python==$version" >&2
      tar -xzf "$tmp"/llama_cpp_python-"$version".tar.gz -C "$tmp"
      mkdir -p "$out" && rm -rf "$out/src.tmp"
      mv "$tmp/llama_cpp_python-$version/vendor/llama.cpp" "$out/src.tmp" && mv "$out/src.tmp" "$out/src"
      rm -rf "$tmp"
    fi
    bin=$(LLAMA_CPP_SRC="$out/src" "$here/build-llama-cpp.sh" "$out" llama-bench | tail -1) ;;
  *) echo "build-llama-bench.sh: --source must be npm or pypi[=VERSION], got '$source_spec'" >&2; exit 2 ;;
esac
"$bin/llama-bench" --help >/dev/null
echo "$bin/llama-bench"
