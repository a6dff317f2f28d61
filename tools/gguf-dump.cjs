// Prints what the npm package @huggingface/gguf (an independent GGUF parser) reads from a GGUF file, as JSON:
// {"dataOffset", "metadata": {key: {"type", "subType"?, "value"}}, "tensors": [{"name", "n_dims", "shape", "dtype", "offset"}]}
// (64-bit integers as decimal strings). Used by dev.jseek.gguf.ExternalParserTest.
//   node tools/gguf-dump.cjs NPM_CACHE_DIR FILE.gguf
const path = require("path");
const { gguf } = require(path.join(process.argv[2], "node_modules", "@huggingface", "gguf"));

const plain = (v) => (typeof v === "bigint" ? v.toString() : Array.isArray(v) ? v.map(plain) : v);

gguf(path.resolve(process.argv[3]), { allowLocalFile: true, typedMetadata: true }).then((r) => {
  const metadata = {};
  for (const [k, v] of Object.entries(r.typedMetadata)) {
    if (k === "version" || k === "tensor_count" || k === "kv_count") continue;
    metadata[k] = { type: v.type, value: plain(v.value) };
    if (v.subType !== undefined) metadata[k].subType = v.subType;
  }
  const tensors = r.tensorInfos.map((t) => ({
    name: t.name, n_dims: t.n_dims, shape: plain(t.shape), dtype: t.dtype, offset: plain(t.offset),
  }));
  process.stdout.write(JSON.stringify({
    version: r.metadata.version, dataOffset: plain(r.tensorDataOffset), metadata, tensors,
  }));
}).catch((e) => { console.error(String(e && e.stack || e)); process.exit(1); });
