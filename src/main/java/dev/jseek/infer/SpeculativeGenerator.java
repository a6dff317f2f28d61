package dev.jseek.infer;

import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.KvCache;
import java.util.Arrays;
import java.util.function.IntConsumer;

/**
 * Speculative decoding with the model's own depth-1 MTP module as the draft model (docs/architecture.md §6.3): each decode step
 * the MTP module proposes the next token, and one main forward over two query tokens verifies it; when the main
 * model's choice equals the draft, the second position's logits are already computed and a second token comes out
 * of the same forward. Same contract as {@link Generator#generate} (same checks, streaming, stop rules, the same
 * {@link Generator.Result}) plus {@link DraftStats}.
 *
 * <p><b>Indices</b> (0-based; x_i is the token at position i, prompt and generated alike; h_i the main model's
 * hidden state after model.norm at position i, whose logits choose x_{i+1}). The MTP module's pair at MTP position i
 * is (h_i, Emb(x_{i+1})), and its logits draft x_{i+2} (docs/architecture.md §6.1; {@code dev.jseek.train.MtpModule} trains exactly
 * this: hidden t with the embedding of token t+1 at RoPE position t, target token t+2). A step starts with x_{k+1}
 * chosen (from h_k) but not yet fed:
 * <ol>
 *   <li>draft: the MTP module runs over the pending pairs, which end with (h_k, x_{k+1}) at MTP position k; the
 *       draft d for x_{k+2} is the argmax of its last row's logits;</li>
 *   <li>verify: the main model runs [x_{k+1}, d] at positions k+1, k+2, giving h_{k+1}, h_{k+2} and their logits;
 *       x_{k+2} is drawn from row 0 with the caller's {@link Sampler};</li>
 *   <li>x_{k+2} == d (accepted): row 1 was computed on the right prefix, so x_{k+3} is drawn from it; the pending
 *       MTP pairs become (h_{k+1}, x_{k+2}), (h_{k+2}, x_{k+3}) at MTP positions k+1, k+2;</li>
 *   <li>otherwise (rejected): h_{k+2} and the main cache entry at position k+2 belong to the wrong token and are
 *       dropped (the next verify writes position k+2 again, which is the rewind of {@link KvCache}); the pending
 *       pair becomes (h_{k+1}, x_{k+2}) at MTP position k+1.</li>
 * </ol>
 * The MTP cache never needs a rewind: it only ever receives pairs of verified hidden states and tokens. Its prompt
 * part, pairs (h_i, x_{i+1}) for i &lt; n-1, is filled during prefill (docs/architecture.md §6.1: the MTP block's cache must cover the
 * prompt).
 *
 * <p><b>Same tokens as {@link Generator}.</b> Every emitted token is drawn with the caller's sampler from the main
 * model's logits, one draw per emitted token, in order; the draft only decides whether a second row of logits is
 * usable, never which token is emitted (this is exact for sampling too, and needs no rejection-sampling step: a
 * sampled token equal to the draft is accepted, anything else is a rejection). The draft is the MTP argmax even when
 * sampling (it maximizes the chance of a match and takes nothing from the sampler's random stream). The outputs are
 * identical bit for bit because the 2-token verify forward gives each row the very logits a 1-token decode would:
 * every per-token computation is independent of the other query token (the Linear layers' GEMV sums each token the
 * same way for 1 and 2 tokens; attention rows, norms, RoPE and expert routing are per token; the masked future key
 * only adds exact zeros), and no kernel on the path depends on JIT state (lane sums by {@code Vec.sum} in a fixed
 * order instead of {@code reduceLanes(ADD)}, whose order changes when C2 compiles it; exponentials by
 * {@code kernels.Exp} instead of {@code lanewise(EXP)}, whose C2 and fallback versions differ in the last bit).
 * Without those three, the same prefill repeated in one JVM gave different last bits, and 2-token rows differed
 * from 1-token rows by up to 3.6e-6. {@code SpeculativeGeneratorTest} checks the equality bitwise.
 *
 * <p>No draft is made when fewer than two tokens may still be emitted or the second verify position would be
 * outside the cache; that step is a plain 1-token decode.
 */
public final class SpeculativeGenerator {
    /** Where drafts come from; the default is the MTP argmax. Tests substitute one to force accepts or rejects. */
    interface DraftSource {
        /**
         * @param index the output index of the token the draft guesses (the number of tokens emitted so far)
         * @param mtpArgmax the MTP module's argmax for it
         */
        int draft(int index, int mtpArgmax);
    }

    private final DeepSeekV3 model;
    private final AttnMode mode;
    private final DraftSource drafts;

    /** @throws IllegalArgumentException when the model has no MTP module to draft with */
    public SpeculativeGenerator(DeepSeekV3 model, AttnMode mode) { this(model, mode, (index, mtpArgmax) -> mtpArgmax); }

    SpeculativeGenerator(DeepSeekV3 model, AttnMode mode, DraftSource drafts) {
        if (!model.hasMtp())
            throw new IllegalArgumentException("speculative decoding needs the model's MTP module, and this model has none "
                    + "(num_nextn_predict_layers = " + model.config.numNextnPredictLayers() + ", tensors model.layers."
                    + model.config.numHiddenLayers() + ".* " + (model.config.numNextnPredictLayers() > 0 ? "absent" : "not expected")
                    + "); decode without it");
        this.model = model;
        this.mode = mode;
        this.drafts = drafts;
    }

    /** As {@link Generator#generate}; the result's {@link Generator.Result#drafts()} holds the draft counters. */
    public Generator.Result generate(int[] prompt, int maxNewTokens, Sampler sampler, int[] stopTokens, IntConsumer onToken) {
        int capacity = Generator.capacity(model, prompt, maxNewTokens);
        KvCache cache = model.newCache(capacity, mode);
        KvCache mtpCache = model.newMtpCache(capacity, mode);
        int vocab = model.config.vocabSize(), dim = model.config.hiddenSize(), n = prompt.length;
        Generator.Emitter out = new Generator.Emitter(n, maxNewTokens, capacity, stopTokens, Generator.listener(onToken));
        int drafted = 0, accepted = 0, forwards = 0;

        long t0 = System.nanoTime();
        float[] hidden = model.forwardHidden(prompt, 0, cache);
        float[] logits = model.logits(hidden, n - 1, 1);
        if (n > 1) model.mtpHidden(Arrays.copyOfRange(prompt, 1, n), hidden, 0, mtpCache); // MTP cache, positions 0..n-2
        long t1 = System.nanoTime();

        // Pending MTP pairs: hidden rows pendH[r] with the tokens after them pendTok[r], at MTP positions mtpPos + r.
        float[] pendH = Arrays.copyOfRange(hidden, (n - 1) * dim, n * dim);
        int[] pendTok = new int[0];
        int mtpPos = n - 1;
        int pos = n;                 // where the last emitted token goes when fed
        int last = -1;
        if (out.more()) {
            last = sampler.sample(logits, 0, vocab);
            pendTok = new int[] {last};
            if (!out.emit(last)) last = -1;
        }
        while (last >= 0) {
            boolean draft = out.remaining() >= 2 && pos + 1 < capacity;
            int d = -1;
            if (draft) {
                float[] mh = model.mtpHidden(pendTok, pendH, mtpPos, mtpCache);
                float[] ml = model.logits(mh, pendTok.length - 1, 1);
                d = drafts.draft(out.count(), Sampler.argmax(ml, 0, vocab));
                drafted++;
                mtpPos += pendTok.length;
                pendTok = new int[0];
                pendH = new float[0];
            }
            int[] in = draft ? new int[] {last, d} : new int[] {last};
            float[] h = model.forwardHidden(in, pos, cache);
            float[] lg = model.logits(h, 0, in.length);
            forwards++;
            int tok = sampler.sample(lg, 0, vocab);
            boolean more = out.emit(tok);
            if (draft && tok == d) {
                accepted++;
                if (!more) break;
                int tok2 = sampler.sample(lg, vocab, vocab);
                pendH = concat(pendH, h, 2 * dim);
                pendTok = append(append(pendTok, tok), tok2);
                pos += 2;
                last = tok2;
                if (!out.emit(tok2)) break;
            } else {
                if (!more) break;
                pendH = concat(pendH, h, dim);
                pendTok = append(pendTok, tok);
                pos += 1;
                last = tok;
            }
        }
        long t2 = System.nanoTime();
        return out.result(t1 - t0, t2 - t1, new DraftStats(drafted, accepted, forwards));
    }

    private static float[] concat(float[] a, float[] b, int bLen) {
        float[] r = Arrays.copyOf(a, a.length + bLen);
        System.arraycopy(b, 0, r, a.length, bLen);
        return r;
    }

    private static int[] append(int[] a, int v) {
        int[] r = Arrays.copyOf(a, a.length + 1);
        r[a.length] = v;
        return r;
    }
}
