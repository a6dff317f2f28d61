/**
 * Where a model comes from: {@link dev.jseek.source.ModelSource} opens a model path, a Hugging Face directory or a
 * GGUF file. It is the one package that knows both {@code model} and {@code gguf} (docs/architecture.md §9).
 */
package dev.jseek.source;
