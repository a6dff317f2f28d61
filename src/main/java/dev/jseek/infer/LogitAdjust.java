package dev.jseek.infer;

/**
 * How a {@link Sampler} changes a row of logits before it draws, in this order: vLLM's repetition penalty (the logit
 * of every token seen in the prompt or the output so far divided by {@code repetition} when positive, multiplied by
 * it otherwise), OpenAI's frequency and presence penalties (minus {@code c * frequency + presence} for a token
 * generated c > 0 times), then OpenAI's {@code logit_bias}. {@link #NONE} leaves the row as it is.
 *
 * @param presence   OpenAI's presence penalty, in [-2, 2]; 0 = none
 * @param frequency  OpenAI's frequency penalty, in [-2, 2]; 0 = none
 * @param repetition vLLM's (and HF's) repetition penalty, in (0, 10]; 1 = none
 * @param bias       OpenAI's logit bias
 */
public record LogitAdjust(float presence, float frequency, float repetition, LogitBias bias) {
    public static final LogitAdjust NONE = new LogitAdjust(0f, 0f, 1f, LogitBias.NONE);

    public LogitAdjust {
        if (bias == null) bias = LogitBias.NONE;
        if (!(presence >= -2f && presence <= 2f)) throw new IllegalArgumentException("presence penalty must be in [-2, 2], got " + presence);
        if (!(frequency >= -2f && frequency <= 2f)) throw new IllegalArgumentException("frequency penalty must be in [-2, 2], got " + frequency);
        if (!(repetition > 0f && repetition <= 10f)) throw new IllegalArgumentException("repetition penalty must be in (0, 10], got " + repetition);
    }

    /** OpenAI's presence and frequency penalties alone. */
    public static LogitAdjust penalties(float presence, float frequency) { return new LogitAdjust(presence, frequency, 1f, LogitBias.NONE); }

    /** Whether this changes nothing. */
    public boolean isNone() { return presence == 0f && frequency == 0f && repetition == 1f && bias.isEmpty(); }

    public LogitAdjust withPenalties(float p, float f) { return new LogitAdjust(p, f, repetition, bias); }

    public LogitAdjust withRepetition(float r) { return new LogitAdjust(presence, frequency, r, bias); }

    public LogitAdjust withBias(LogitBias b) { return new LogitAdjust(presence, frequency, repetition, b); }
}
