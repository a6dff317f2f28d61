/**
 * Byte-level BPE tokenization for DeepSeek-V3 (docs/architecture.md §7.8) and models trained with jseek (docs/architecture.md §7.2).
 *
 * <ul>
 * <li>{@link dev.jseek.tokenizer.Tokenizer}: loads a Hugging Face {@code tokenizer.json}; {@code encode},
 *     {@code decode}, token ids of BOS/EOS/pad/FIM; ids identical to HF tokenizers (tested against it).</li>
 * <li>{@link dev.jseek.tokenizer.StreamingDecoder}: decoding of generated ids that emits whole characters only.</li>
 * <li>{@link dev.jseek.tokenizer.ChatTemplate}, {@link dev.jseek.tokenizer.Message},
 *     {@link dev.jseek.tokenizer.ToolCall}: the DeepSeek-V3 chat template, quirks included.</li>
 * <li>{@link dev.jseek.tokenizer.BpeTrainer}, {@link dev.jseek.tokenizer.TrainingCorpus}: training a tokenizer
 *     with the DeepSeek-V3 pre-tokenizer and fixed special-token ids.</li>
 * <li>{@link dev.jseek.tokenizer.TokenizerBench}: throughput benchmark harness.</li>
 * </ul>
 * See docs/tokenizer.md.
 */
package dev.jseek.tokenizer;
