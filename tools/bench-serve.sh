#!/usr/bin/env bash
# `jseek bench serve` with its peer, llama.cpp's llama-batched-bench (built from a llama.cpp source release by
# tools/build-llama-cpp.sh), on the same BF16 GGUFs and the same threads: 1, 4 and 16 parallel sequences, 128-token
# prompts, 64 new tokens. Two models with random weights (speed does not depend on them):
#   1p5b   the 1.53B-total / 0.30B-active DeepSeek-V3 shape of issue 11 (hidden 1536, 10 layers of which 1 dense,
#          12 heads, q_lora 512, kv_lora 256, 64 routed experts top-6 in 8 groups keep 4, 1 shared,
#          moe_intermediate 512, vocab 32768)
#   small  the quickstart model's shape (`--preset small`)
#
#   tools/bench-serve.sh [OUT_DIR]      default runs/bench-serve; THREADS (default 2), MODELS (default "1p5b small"),
#                                      CLIENTS (default 1,4,16), REQUESTS per client (default 2), BASELINE (default 0:
#                                      the same work also on an engine with that many prefill tokens per step, 0 = without
#                                      stacked prefill, run in turn; empty: none), ROUNDS (default 3: jseek's rows and the
#                                      peer's alternate, the table gives medians and the median of the per-round ratios)
# Writes OUT_DIR/NAME (HF model), OUT_DIR/NAME-bf16.gguf and OUT_DIR/NAME.txt (the tables). Rerunning reuses them.
# Run it on a quiet machine for numbers; `nice -n 10` on a shared one.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/runs/bench-serve}"
threads="${THREADS:-2}"
models="${MODELS:-1p5b small}"
clients="${CLIENTS:-1,4,16}"
requests="${REQUESTS:-2}"
rounds="${ROUNDS:-3}"
baseline=()
[ -n "${BASELINE-0}" ] && baseline=(--baseline-prefill-tokens "${BASELINE-0}")
mkdir -p "$out"
bindir="$("$root/tools/build-llama-cpp.sh" "${LLAMA_CPP_DIR:-$HOME/.cache/jseek/llama.cpp}" llama-batched-bench | tail -1)"
peer="$bindir/llama-batched-bench"
. "$root/tools/find-jdk.sh"
jseek_find_jdk
tok="$out/tokenizer.json"
if [ ! -f "$tok" ]; then
  "$root/jseek" tokenizer train --corpus "$JSEEK_JAVA_HOME/lib/src.zip" --include '*.java' --max-mb 8 --vocab-size 8192 \
    --no-progress --out "$tok"
fi
# the config `jseek bench infer` uses for the same model (src/main/resources/dev/jseek/bench/deepseek-v3-1p5b.json)
cp "$root/src/main/resources/dev/jseek/bench/deepseek-v3-1p5b.json" "$out/1p5b-config.json"
for name in $models; do
  dir="$out/$name"
  case "$name" in
    1p5b) src=(--config "$out/1p5b-config.json") ;;
    small) src=(--preset small) ;;
    *) echo "bench-serve: unknown model '$name' (1p5b or small)" >&2; exit 1 ;;
  esac
  [ -f "$dir/config.json" ] || "$root/jseek" init "${src[@]}" --out "$dir" --dtype bf16 --seed 1
  gguf="$out/$name-bf16.gguf"
  [ -f "$gguf" ] || "$root/jseek" export --model "$dir" --out "$gguf" --type bf16 --tokenizer "$tok"
  JSEEK_JAVA_OPTS="-Djseek.threads=$threads ${JSEEK_JAVA_OPTS:-}" "$root/jseek" bench serve --model "$gguf" --tokenizer "$tok" \
    --clients "$clients" --requests "$requests" --prompt-len 128 --max-tokens 64 --no-prefix-cache "${baseline[@]}" --rounds "$rounds" --llama-batched-bench "$peer" > "$out/$name.txt"
  # the table is printed whole after the run (progress goes to stderr as it happens): piped through tee, it came out
  # interleaved with the progress lines in a log that merges both streams
  cat "$out/$name.txt"
done
