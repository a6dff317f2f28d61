#!/usr/bin/env bash
# Builds llama.cpp's CPU tools (llama-batched-bench, llama-bench) from a llama.cpp source release, for the peers of
# `jseek bench serve` and `jseek bench infer`. The source is the release that node-llama-cpp@3.21.1 ships as a git
# bundle (llama/gitRelease.bundle, llama/llama.cpp.info.json names its tag); tools/fetch-test-data.sh installs that
# package from the npm registry into ${JSEEK_NPM_CACHE:-~/.cache/jseek/npm}.
#
#   tools/build-llama-cpp.sh [OUT_DIR] [TARGET...]     default OUT_DIR ~/.cache/jseek/llama.cpp,
#                                                      default targets llama-batched-bench llama-bench
# Prints the directory of the binaries (OUT_DIR/build/bin). Rerunning reuses the checkout and the build.
# Needs git, cmake, a C++17 compiler (Debian: apt-get install git cmake g++). Run it niced on a shared machine.
set -euo pipefail
out="${1:-$HOME/.cache/jseek/llama.cpp}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(llama-batched-bench llama-bench)
npm_dir="${JSEEK_NPM_CACHE:-$HOME/.cache/jseek/npm}"
bundle="$npm_dir/node_modules/node-llama-cpp/llama/gitRelease.bundle"
here="$(cd "$(dirname "$0")" && pwd)"
if [ -z "${LLAMA_CPP_SRC:-}" ] && [ ! -f "$bundle" ]; then
  "$here/fetch-test-data.sh" >&2
fi
[ -n "${LLAMA_CPP_SRC:-}" ] || [ -f "$bundle" ] || { echo "build-llama-cpp: $bundle is missing (tools/fetch-test-data.sh installs node-llama-cpp)" >&2; exit 1; }
for t in git cmake c++; do
  command -v "$t" >/dev/null || { echo "build-llama-cpp: '$t' is not installed (Debian: apt-get install git cmake g++)" >&2; exit 1; }
done
mkdir -p "$out"
src="${LLAMA_CPP_SRC:-$out/src}"   # LLAMA_CPP_SRC: another llama.cpp source tree (tools/build-llama-bench.sh --source pypi)
if [ ! -f "$src/CMakeLists.txt" ]; then
  rm -rf "$src.tmp"
  git clone -q "$bundle" "$src.tmp" 2>/dev/null
  mv "$src.tmp" "$src"
fi
jobs="${JOBS:-$(nproc)}"
cmake -S "$src" -B "$out/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DBUILD_SHARED_LIBS=OFF \
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF >&2
cmake --build "$out/build" --config Release -j "$jobs" --target "${targets[@]}" >&2
echo "$out/build/bin"
