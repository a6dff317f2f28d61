#!/usr/bin/env bash
# Builds llama.cpp's llama-bench, the peer of `jseek bench infer`, from a llama.cpp source release: CPU only,
# Release, -DGGML_NATIVE=ON (tuned for this machine, as a user building llama.cpp from source gets it).
#
#   tools/build-llama-bench.sh                    # source: the llama.cpp release node-llama-cpp 3.21.1 pins (npm)
#   tools/build-llama-bench.sh --source pypi      # source: the llama.cpp vendored in PyPI's llama-cpp-python sdist
#   tools/build-llama-bench.sh --source pypi=0.3.16 --jobs 2
#
# Sources:
#   npm          node-llama-cpp@3.21.1 ships its llama.cpp release as a git bundle (llama/gitRelease.bundle): the
#                same llama.cpp that LlamaCppOracleTest runs (prebuilt) on every type `jseek export` writes. Taken
#                from ~/.cache/jseek/npm (tools/fetch-test-data.sh puts it there) or fetched with `npm pack`.
#   pypi[=V]     the sdist of llama-cpp-python V (default 0.3.16, whose vendor/llama.cpp reads deepseek2 GGUFs with
#                the split attn_k_b/attn_v_b tensors jseek writes), fetched with `pip download --no-binary`.
# Needs cmake, a C++17 compiler and git (Debian: apt-get install cmake build-essential git; done here when root).
# Output: $JSEEK_CACHE (default ~/.cache/jseek)/llama-bench/<source>/build/bin/llama-bench; the last line printed
# is its path, for `jseek bench infer --llama-bench PATH`. Takes 10-40 minutes on 2 cores; rerunning reuses the build.
set -euo pipefail

source_spec=npm
jobs=$(nproc)
while [ $# -gt 0 ]; do
  case "$1" in
    --source) source_spec="$2"; shift 2 ;;
    --source=*) source_spec="${1#--source=}"; shift ;;
    --jobs) jobs="$2"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "build-llama-bench.sh: unknown argument '$1' (use --source npm|pypi[=VERSION], --jobs N)" >&2; exit 2 ;;
  esac
done

need_tools() {
  local missing=()
  command -v cmake >/dev/null || missing+=(cmake)
  command -v c++ >/dev/null || missing+=(build-essential)
  command -v git >/dev/null || missing+=(git)
  [ ${#missing[@]} -eq 0 ] && return
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    echo "build-llama-bench.sh: missing ${missing[*]} (Debian: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
}
need_tools

cache="${JSEEK_CACHE:-$HOME/.cache/jseek}/llama-bench"
case "$source_spec" in
  npm)
    name=npm-node-llama-cpp-3.21.1
    src="$cache/$name/src"
    if [ ! -f "$src/CMakeLists.txt" ]; then
      bundle="$HOME/.cache/jseek/npm/node_modules/node-llama-cpp/llama/gitRelease.bundle"
      if [ ! -f "$bundle" ]; then
        tmp=$(mktemp -d)
        (cd "$tmp" && npm pack --silent node-llama-cpp@3.21.1 >/dev/null && tar -xzf node-llama-cpp-3.21.1.tgz)
        bundle="$tmp/package/llama/gitRelease.bundle"
      fi
      rm -rf "$src.tmp" && mkdir -p "$cache/$name"
      git clone -q "$bundle" "$src.tmp"
      mv "$src.tmp" "$src"
    fi
    ;;
  pypi|pypi=*)
    version=0.3.16
    [ "$source_spec" != pypi ] && version="${source_spec#pypi=}"
    name=pypi-llama-cpp-python-$version
    src="$cache/$name/src"
    if [ ! -f "$src/CMakeLists.txt" ]; then
      tmp=$(mktemp -d)
      python3 -m pip download --quiet --no-deps --no-binary :all: --dest "$tmp" "llama-cpp-python==$version"
      tar -xzf "$tmp"/llama_cpp_python-"$version".tar.gz -C "$tmp"
      rm -rf "$src.tmp" && mkdir -p "$cache/$name"
      mv "$tmp/llama_cpp_python-$version/vendor/llama.cpp" "$src.tmp"
      mv "$src.tmp" "$src"
    fi
    ;;
  *) echo "build-llama-bench.sh: --source must be npm or pypi[=VERSION], got '$source_spec'" >&2; exit 2 ;;
esac

build="$cache/$name/build"
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DBUILD_SHARED_LIBS=OFF \
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF >/dev/null
cmake --build "$build" --target llama-bench -j "$jobs" >&2
bin="$build/bin/llama-bench"
"$bin" --help >/dev/null
echo "$bin"
