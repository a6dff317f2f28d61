/**
 * Pre-training data (docs/architecture.md §7.2): corpora, tokenization into checksummed token shards, FIM, packing and the
 * training data loader.
 *
 * <pre>
 *   Corpus (CorpusSpec.parse("jdk,stdlib:sotu,dir:/x#md,jsonl:/f.jsonl#text"))
 *     -&gt; DataPreparer: per document Split.of(text) and FimTransform (PSM at fim_rate, + EOS), parallel and ordered
 *     -&gt; DIR/train-00000.bin ..., val-00000.bin ... (ShardHeader format) + DIR/manifest.json (Manifest)
 *   TokenDataset.open(DIR) -&gt; train()/val() TokenStore (concatenated, memory-mapped, verified shards)
 *     -&gt; PackedSequences: windows of seq_len+1 tokens, stride seq_len, no cross-document mask
 *     -&gt; DataLoader.next(): Batch [B, seq_len+1] in a seeded per-epoch shuffle; state()/restore(LoaderState)
 *     -&gt; DataLoader.validation(val, B, seq_len, ...): ordered, finite
 * </pre>
 * The tokenizer is seen only through {@link dev.jseek.data.TextEncoder}; {@link dev.jseek.data.ByteTextEncoder}
 * is the built-in byte-level encoder for tests.
 */
package dev.jseek.data;
