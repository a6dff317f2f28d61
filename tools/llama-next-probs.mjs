// Next-token probabilities from llama.cpp (the prebuilt linux-x64 build of npm node-llama-cpp@3.21.1) for a GGUF
// model, as JSON: {"probs": [[p_0 .. p_{V-1}] after token 0, after tokens 0..1, ...]}. CPU only, F32 KV
// cache, flash attention off, softmax at temperature 1 with no truncation (top-k, top-p, min-p off). Used by
// dev.jseek.gguf.LlamaCppOracleTest; tools/fetch-test-data.sh installs the package.
//   node tools/llama-next-probs.mjs NPM_CACHE_DIR FILE.gguf TOKEN_IDS(comma-separated) VOCAB_SIZE
import path from "node:path";
import { pathToFileURL } from "node:url";

const [npm, file, ids, vocab] = process.argv.slice(2);
const { getLlama, LlamaLogLevel } = await import(pathToFileURL(path.join(npm, "node_modules", "node-llama-cpp", "dist", "index.js")).href);
const llama = await getLlama({ gpu: false, build: "never", usePrebuiltBinaries: true, logLevel: LlamaLogLevel.error, progressLogs: false });
const model = await llama.loadModel({ modelPath: path.resolve(file), gpuLayers: 0, useMmap: true });
const tokens = ids.split(",").map(Number);
const context = await model.createContext({
  contextSize: Math.max(64, tokens.length + 8), batchSize: tokens.length, sequences: 1, flashAttention: false, threads: 2,
  experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",
});
const seq = context.getSequence();
const opts = { temperature: 1, topK: 0, topP: 1, minP: 0 };
const out = await seq.controlledEvaluate(tokens.map((t) => [t, { generateNext: { probabilities: true, options: opts } }]));
const V = Number(vocab);
const probs = out.map((o) => {
  const p = new Array(V).fill(0);
  for (const [t, v] of o.next.probabilities) {
    if (t >= V) throw new Error("token " + t + " outside the vocabulary of " + V);
    p[t] = v;
  }
  return p;
});
process.stdout.write(JSON.stringify({ probs }));
await context.dispose();
await model.dispose();
await llama.dispose();
