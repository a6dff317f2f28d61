package dev.jseek.train;

import java.util.List;
import java.util.function.ToLongFunction;

/**
 * Validation of a {@link Trainable} on a fixed list of held-out batches (the first batches of the data set's
 * validation split, in order, the same at every evaluation): the main next-token cross-entropy
 * L = sum_b CE_b n_b / sum_b n_b in nats per token (CE_b = the batch's mean CE from {@link Trainable#evalLoss}, n_b its
 * target tokens), and bits per byte = L / (ln 2 * bytesPerToken), i.e. total nats of the tokens / (ln 2 * UTF-8 bytes
 * of the text they decode to), with {@code bytesPerToken} = text bytes / tokens of the validation split (from the data
 * manifest; NaN when unknown, then bits per byte is NaN).
 */
public final class Validation<B> {
    /** One evaluation: loss in nats per token, bits per byte (NaN when unknown), tokens evaluated. */
    public record Result(double loss, double bitsPerByte, long tokens) {}

    private final List<B> batches;
    private final ToLongFunction<B> tokens;
    private final double bytesPerToken;

    /**
     * @param batches       the held-out batches (at least one)
     * @param tokens        target tokens of a batch (the weight of its mean CE)
     * @param bytesPerToken UTF-8 text bytes per token of the split, > 0, or NaN when unknown
     */
    public Validation(List<B> batches, ToLongFunction<B> tokens, double bytesPerToken) {
        if (batches.isEmpty()) throw new IllegalArgumentException("validation needs at least one batch");
        if (!(bytesPerToken > 0) && !Double.isNaN(bytesPerToken))
            throw new IllegalArgumentException("bytes per token must be > 0 or NaN (unknown), got " + bytesPerToken);
        this.batches = List.copyOf(batches);
        this.tokens = tokens;
        this.bytesPerToken = bytesPerToken;
    }

    public List<B> batches() { return batches; }

    public double bytesPerToken() { return bytesPerToken; }

    /** Evaluates {@code model} on every batch. */
    public Result evaluate(Trainable<B> model) { return evaluate(model::evalLoss); }

    /** Evaluates every batch with {@code meanCe}, a batch's mean main cross-entropy (as {@link Trainable#evalLoss}; a pipeline's). */
    public Result evaluate(java.util.function.ToDoubleFunction<B> meanCe) {
        double nats = 0;
        long n = 0;
        for (B b : batches) {
            long k = tokens.applyAsLong(b);
            nats += meanCe.applyAsDouble(b) * k;
            n += k;
        }
        double loss = nats / n;
        return new Result(loss, bitsPerByte(loss, bytesPerToken), n);
    }

    /** nats per token -> bits per byte: loss / (ln 2 * bytesPerToken). */
    public static double bitsPerByte(double natsPerToken, double bytesPerToken) {
        return natsPerToken / (Math.log(2) * bytesPerToken);
    }
}
