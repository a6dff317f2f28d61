package dev.jseek.train;

import dev.jseek.model.ConfigEdits;
import dev.jseek.model.ModelConfig;
import dev.jseek.model.Rope;

/**
 * A context-extension stage (report §4.3): training continues from a checkpoint at a longer sequence length with
 * YaRN applied to the decoupled RoPE key/query dimensions. The stage writes its YaRN settings into the model's
 * config ({@code rope_scaling}: type yarn, {@code factor} s, {@code original_max_position_embeddings} (the
 * pre-training length), {@code beta_fast} beta, {@code beta_slow} alpha, {@code mscale} = {@code mscale_all_dim} so
 * that the softmax scale gains (0.1 mscale ln s + 1)^2 and the RoPE tables none) and raises
 * {@code max_position_embeddings} to s x original. The report uses s = 40, alpha = 1, beta = 32, sqrt(t) = 0.1 ln s + 1
 * (mscale 1) for both of its stages (4K -> 32K -> 128K, the same YaRN settings, only the sequence length, batch and
 * learning rate change); the scaled-down recipe is 256 -> 1024 -> 4096 tokens with s = 16 (docs/training.md).
 */
public record ExtensionStage(int seqLen, double factor, int originalLength, double betaFast, double betaSlow, double mscale) {
    public ExtensionStage {
        if (!(factor >= 1) || Double.isInfinite(factor)) throw new IllegalArgumentException("YaRN factor must be a finite number >= 1, got " + factor);
        if (originalLength < 1) throw new IllegalArgumentException("YaRN original length must be >= 1, got " + originalLength);
        if (!(betaSlow > 0) || !(betaFast > betaSlow) || Double.isInfinite(betaFast))
            throw new IllegalArgumentException("YaRN needs 0 < beta_slow < beta_fast, got beta_slow " + betaSlow + ", beta_fast " + betaFast);
        if (!(mscale >= 0) || Double.isInfinite(mscale)) throw new IllegalArgumentException("YaRN mscale must be a finite number >= 0, got " + mscale);
        if (seqLen < 2) throw new IllegalArgumentException("sequence length must be >= 2, got " + seqLen);
    }

    /** The report's settings (beta_fast 32, beta_slow 1, mscale 1) for a stage at {@code seqLen}. */
    public static ExtensionStage report(int seqLen, double factor, int originalLength) {
        return new ExtensionStage(seqLen, factor, originalLength, 32, 1, 1.0);
    }

    /** The positions the extended model covers: round(factor x original). */
    public int maxPositions() { return (int) Math.min(Integer.MAX_VALUE, Math.round(factor * originalLength)); }

    /** {@code c} with this stage's rope_scaling and max_position_embeddings (never lowered); validated like any config. */
    public ModelConfig apply(ModelConfig c) {
        int maxPos = Math.max(c.maxPositionEmbeddings(), maxPositions());
        if (seqLen > maxPos)
            throw new IllegalArgumentException("sequence length " + seqLen + " must not exceed the extended max_position_embeddings " + maxPos
                    + " (YaRN factor " + factor + " x original " + originalLength + ")");
        return ConfigEdits.edit(c, o -> {
            o.put("max_position_embeddings", maxPos);
            o.putObject("rope_scaling").put("type", "yarn").put("factor", factor).put("original_max_position_embeddings", originalLength)
                    .put("beta_fast", betaFast).put("beta_slow", betaSlow).put("mscale", mscale).put("mscale_all_dim", mscale);
        });
    }

    /** sqrt(t) of the report: the factor on q.k before the softmax scale's square, 0.1 mscale ln s + 1 (1 when s <= 1). */
    public double attentionTemperatureRoot() { return Rope.yarnMscale(factor, mscale); }
}
