package dev.jseek.infer;

import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import java.util.function.IntConsumer;

/** Decoding a prompt: plain ({@link Generator}) or with MTP drafts ({@link SpeculativeGenerator}, the same tokens). */
public interface Decoder {
    Generator.Result generate(int[] prompt, int maxNewTokens, Sampler sampler, int[] stopTokens, IntConsumer onToken);

    /**
     * The speculative decoder when {@code speculative} (the model must have an MTP module), else the plain one.
     *
     * @throws IllegalArgumentException when speculative decoding is asked of a model without MTP
     */
    static Decoder of(DeepSeekV3 model, AttnMode mode, boolean speculative) {
        return of(model, mode, speculative, SpeculativeGenerator.DEFAULT_DRAFT_TOKENS);
    }

    /** As {@link #of(DeepSeekV3, AttnMode, boolean)} with up to {@code draftTokens} MTP drafts per step. */
    static Decoder of(DeepSeekV3 model, AttnMode mode, boolean speculative, int draftTokens) {
        if (!speculative) return new Generator(model, mode)::generate;
        if (!model.hasMtp()) throw new IllegalArgumentException("the model has no MTP module to draft with");
        return new SpeculativeGenerator(model, mode, draftTokens)::generate;
    }
}
