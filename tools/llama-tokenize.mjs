// Token ids llama.cpp (the prebuilt linux-x64 build of npm node-llama-cpp@3.21.1) gives texts with a GGUF file's own
// vocabulary (tokenizer.ggml.*; the model is loaded vocabulary-only, no weights are read), as JSON: {"ids": [[...], ...]}.
// Special-token text is parsed as special tokens (as Hugging Face tokenizers match added tokens); no BOS is added.
// Used by dev.jseek.gguf.LlamaCppTokenizerTest; tools/fetch-test-data.sh installs the package.
//   node tools/llama-tokenize.mjs NPM_CACHE_DIR FILE.gguf TEXTS.json   (TEXTS.json: a JSON array of strings)
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [npm, file, textsFile] = process.argv.slice(2);
const { getLlama, LlamaLogLevel } = await import(pathToFileURL(path.join(npm, "node_modules", "node-llama-cpp", "dist", "index.js")).href);
const llama = await getLlama({ gpu: false, build: "never", usePrebuiltBinaries: true, logLevel: LlamaLogLevel.error, progressLogs: false });
const model = await llama.loadModel({ modelPath: path.resolve(file), gpuLayers: 0, useMmap: true, vocabOnly: true });
const texts = JSON.parse(fs.readFileSync(textsFile, "utf8"));
const ids = texts.map((t) => Array.from(model.tokenize(t, true)));
process.stdout.write(JSON.stringify({ ids }));
await model.dispose();
await llama.dispose();
