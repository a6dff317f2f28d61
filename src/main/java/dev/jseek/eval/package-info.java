/**
 * Evaluation of a trained model ({@code jseek eval}): held-out bits per byte ({@link BitsPerByte}), Java
 * fill-in-the-middle exact match on held-out JDK files ({@link FimEval}), passkey retrieval over context lengths x
 * needle depths ({@link Passkey}, drawn by {@link Heatmap}), log-likelihood multiple choice ({@link MultipleChoice}),
 * and the arithmetic task's greedy accuracy; {@link Scorecard} collects them into one table (text, JSON, markdown).
 * Every metric runs the inference model ({@code dev.jseek.model.DeepSeekV3}) through {@link TokenScores}, which
 * feeds long inputs in chunks through the latent KV cache.
 */
package dev.jseek.eval;
