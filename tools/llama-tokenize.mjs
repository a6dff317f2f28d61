// Token ids llama.cpp (the prebuilt linux-x64 build of npm node-llama-cpp@3.21.1) gives texts with a GGUF file's own
// vocabulary (tokenizer.ggml.*; the model is loaded vocabulary-only, no weights are read), as JSON: {"ids": [[...], ...]}
// for one file, one array per text; with several files {"files": [{"ids": ...}, ...]}, in order. With each "ids" come the
// special ids llama.cpp read from the metadata: "bos", "eos", "eot" (null when none) and "eog", every id llama.cpp ends
// a generation at (sorted).
// Special-token text is parsed as special tokens (as Hugging Face tokenizers match added tokens); no BOS is added.
// Used by dev.jseek.gguf.LlamaCppTokenizerTest; tools/fetch-test-data.sh installs the package.
//   node tools/llama-tokenize.mjs NPM_CACHE_DIR FILE.gguf[,FILE2.gguf...] TEXTS.json   (TEXTS.json: a JSON array of strings)
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [npm, files, textsFile] = process.argv.slice(2);
const { getLlama, LlamaLogLevel } = await import(pathToFileURL(path.join(npm, "node_modules", "node-llama-cpp", "dist", "index.js")).href);
const llama = await getLlama({ gpu: false, build: "never", usePrebuiltBinaries: true, logLevel: LlamaLogLevel.error, progressLogs: false });
const texts = JSON.parse(fs.readFileSync(textsFile, "utf8"));
const out = [];
for (const file of files.split(",")) {
  const model = await llama.loadModel({ modelPath: path.resolve(file), gpuLayers: 0, useMmap: true, vocabOnly: true });
  const eog = [];
  for (const t of model.iterateAllTokens()) if (model.isEogToken(t)) eog.push(Number(t));
  eog.sort((a, b) => a - b);
  const id = (t) => (t == null ? null : Number(t));
  out.push({ ids: texts.map((t) => Array.from(model.tokenize(t, true))), bos: id(model.tokens.bos), eos: id(model.tokens.eos), eot: id(model.tokens.eot), eog });
  await model.dispose();
}
process.stdout.write(JSON.stringify(out.length === 1 ? out[0] : { files: out }));
await llama.dispose();
