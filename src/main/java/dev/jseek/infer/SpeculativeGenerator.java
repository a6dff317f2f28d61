package dev.jseek.infer;

import dev.jseek.kernels.Ops;
import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.KvCache;
import java.util.Arrays;
import java.util.function.IntConsumer;

/**
 * Speculative decoding with the model's own depth-1 MTP module as the draft model (docs/architecture.md §6.3): each decode step
 * the MTP module proposes up to k next tokens (k = {@code draftTokens}; the second and later ones by applying the one
 * module again to its own output, as serving engines do for DeepSeek-V3's single MTP module), and one main forward over
 * k + 1 query tokens verifies them; every draft that equals the main model's choice lets one more token out of the
 * same forward. Same contract as {@link Generator#generate} (same checks, streaming, stop rules, the same
 * {@link Generator.Result}) plus {@link DraftStats}.
 *
 * <p><b>Indices</b> (0-based; x_i is the token at position i, prompt and generated alike; h_i the main model's
 * hidden state after model.norm at position i, whose logits choose x_{i+1}). The MTP module's pair at MTP position i
 * is (h_i, Emb(x_{i+1})), and its logits draft x_{i+2} (docs/architecture.md §6.1; {@code dev.jseek.train.MtpModule} trains exactly
 * this: hidden t with the embedding of token t+1 at RoPE position t, target token t+2). A step starts with x_p
 * chosen (from h_{p-1}) but not yet fed:
 * <ol>
 *   <li>draft 1: the MTP module runs over the pending verified pairs, which end with (h_{p-1}, x_p) at MTP position
 *       p-1; d_1, the guess for x_{p+1}, is the argmax of its last row's logits, g_1 that row's output (after
 *       shared_head.norm, the form of the main model's post-norm h that the module reads);</li>
 *   <li>draft j = 2..K: the pair (g_{j-1}, d_{j-1}) at MTP position p+j-2 gives g_j and d_j, the guess for x_{p+j}
 *       (K = k, fewer where the emit limit or the cache leaves fewer positions);</li>
 *   <li>verify: the main model runs [x_p, d_1, .., d_K] at positions p..p+K, giving h_p..h_{p+K} and their
 *       logits; x_{p+1} is drawn from row 0 with the caller's {@link Sampler}, and while the token drawn from row j-1
 *       equals d_j, row j was computed on the right prefix and x_{p+j+1} is drawn from it;</li>
 *   <li>with a drafts accepted (a+1 tokens out), h_{p+a+1}.. and the main cache entries from position p+a+1 belong to
 *       wrong tokens and are dropped (the next verify starts at p+a+1 and writes those positions again: the rewind of
 *       {@link KvCache}); the pending pairs become (h_p, x_{p+1}) .. (h_{p+a}, x_{p+a+1}) at MTP positions p..p+a.</li>
 * </ol>
 * The MTP cache is rewound the same way: drafts 2..K write guessed entries at MTP positions p..p+K-2, which the next
 * step's pending pairs, starting at MTP position p, overwrite before anything reads them (attention reads positions
 * up to the row's own). Its prompt part, pairs (h_i, x_{i+1}) for i &lt; n-1, is filled during prefill
 * (docs/architecture.md §6.1: the MTP block's cache must cover the prompt).
 *
 * <p><b>Same tokens as {@link Generator}</b>, greedy and sampled, for every k. Every emitted token is drawn with the
 * caller's sampler from the main model's logits, one draw per emitted token, in order; the drafts only decide how
 * many rows of logits are usable, never which token is emitted. For sampling this is the standard speculative-sampling
 * rule with a deterministic draft: with q the point mass on d, accepting d with probability min(1, p(d) / q(d)) =
 * p(d) and otherwise drawing from the residual max(0, p - q) (p without d, renormalized) is the same as drawing x from
 * p and accepting when x == d, which is what this does. So the output distribution is exactly the main model's, and
 * more: a seeded sampler gives the very tokens plain decoding gives with the same seed, whatever k. The draft is the
 * MTP argmax even when sampling (it maximizes the chance of a match and takes nothing from the sampler's random
 * stream). The outputs are identical bit for bit because the (k+1)-token verify forward gives each row the very
 * logits a 1-token decode would: every per-token computation is independent of the other query tokens (the Linear
 * layers' GEMV sums each token the same way for 1 to {@code jseek.gemvMaxM} tokens; attention rows, norms, RoPE and
 * expert routing are per token; the masked future keys add exact zeros or are not read), and no kernel on the path depends on JIT state (lane sums by {@code Vec.sum} in a fixed
 * order instead of {@code reduceLanes(ADD)}, whose order changes when C2 compiles it; exponentials by
 * {@code kernels.Exp} instead of {@code lanewise(EXP)}, whose C2 and fallback versions differ in the last bit).
 * Without those three, the same prefill repeated in one JVM gave different last bits, and 2-token rows differed
 * from 1-token rows by up to 3.6e-6. {@code SpeculativeGeneratorTest} checks the equality bitwise.
 *
 * <p>No draft is made when fewer than two tokens may still be emitted or the next verify position would be
 * outside the cache; that step is a plain 1-token decode.
 */
public final class SpeculativeGenerator {
    /** Where drafts come from; the default is the MTP argmax. Tests substitute one to force accepts or rejects. */
    interface DraftSource {
        /**
         * @param index the output index of the token the draft guesses
         * @param position which draft of its step (1 = the first: index is then the number of tokens emitted so far)
         * @param mtpArgmax the MTP module's argmax for it
         */
        int draft(int index, int position, int mtpArgmax);
    }

    /** The most draft tokens per step when none is given: {@value}. */
    public static final int DEFAULT_DRAFT_TOKENS = 3;
    /** The most draft tokens per step allowed ({@value}: a verify of k + 1 rows stays a small-M product). */
    public static final int MAX_DRAFT_TOKENS = 8;

    private final DeepSeekV3 model;
    private final AttnMode mode;
    /**
     * When sampling, drafts after the first are made only while the MTP's estimate that all the step's drafts so far
     * are accepted (the product of their probabilities under its softmax at the sampler's temperature) stays at or
     * above this: system property {@code jseek.draftMinProb} (default {@value #DEFAULT_MIN_PROB}; 0: always k drafts).
     * Greedy decoding always drafts k. The default weighs a further draft's cost on the 16-layer model of the README,
     * about 0.4 of a 1-token step (one more verify row: 1.32x, 1.65x, 1.90x a 1-token forward at 2, 3, 4 rows,
     * {@code bench rows --mode verify}; and one MTP forward), against the token it gains when it survives.
     */
    public static final double DEFAULT_MIN_PROB = 0.45;

    private final int k;
    private final double minProb;
    private final DraftSource drafts;

    /**
     * {@link #DEFAULT_DRAFT_TOKENS} drafts per step.
     *
     * @throws IllegalArgumentException when the model has no MTP module to draft with
     */
    public SpeculativeGenerator(DeepSeekV3 model, AttnMode mode) { this(model, mode, DEFAULT_DRAFT_TOKENS); }

    /**
     * Up to {@code draftTokens} drafts per step, the MTP module applied again to its own output for the second and
     * later ones.
     *
     * @throws IllegalArgumentException when the model has no MTP module, or draftTokens is outside 1..{@link #MAX_DRAFT_TOKENS}
     */
    public SpeculativeGenerator(DeepSeekV3 model, AttnMode mode, int draftTokens) {
        this(model, mode, draftTokens, minProbProperty(), (index, position, mtpArgmax) -> mtpArgmax);
    }

    SpeculativeGenerator(DeepSeekV3 model, AttnMode mode, DraftSource drafts) { this(model, mode, 1, 0, drafts); }

    /** Always k drafts where the limits allow (forced drafts in tests). */
    SpeculativeGenerator(DeepSeekV3 model, AttnMode mode, int draftTokens, DraftSource drafts) { this(model, mode, draftTokens, 0, drafts); }

    SpeculativeGenerator(DeepSeekV3 model, AttnMode mode, int draftTokens, double minProb, DraftSource drafts) {
        if (!model.hasMtp())
            throw new IllegalArgumentException("speculative decoding needs the model's MTP module, and this model has none "
                    + "(num_nextn_predict_layers = " + model.config.numNextnPredictLayers() + ", tensors model.layers."
                    + model.config.numHiddenLayers() + ".* " + (model.config.numNextnPredictLayers() > 0 ? "absent" : "not expected")
                    + "); decode without it");
        if (draftTokens < 1 || draftTokens > MAX_DRAFT_TOKENS)
            throw new IllegalArgumentException("draft tokens per step must be in 1.." + MAX_DRAFT_TOKENS + ", got " + draftTokens);
        if (draftTokens + 1 > dev.jseek.kernels.Gemm.GEMV_MAX_M)   // beyond it the verify rows would not be a 1-token step's bits
            throw new IllegalArgumentException(draftTokens + " draft tokens need a " + (draftTokens + 1) + "-row verify, more than jseek.gemvMaxM = "
                    + dev.jseek.kernels.Gemm.GEMV_MAX_M + "; raise it or draft fewer");
        this.model = model;
        this.mode = mode;
        if (!(minProb >= 0 && minProb <= 1))
            throw new IllegalArgumentException("jseek.draftMinProb must be in [0, 1], got " + minProb);
        this.k = draftTokens;
        this.minProb = minProb;
        this.drafts = drafts;
    }

    private static double minProbProperty() {
        String v = System.getProperty("jseek.draftMinProb");
        try {
            return v == null ? DEFAULT_MIN_PROB : Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("jseek.draftMinProb must be a number in [0, 1], got '" + v + "'");
        }
    }

    /** As {@link Generator#generate}; the result's {@link Generator.Result#drafts()} holds the draft counters. */
    public Generator.Result generate(int[] prompt, int maxNewTokens, Sampler sampler, int[] stopTokens, IntConsumer onToken) {
        int capacity = Generator.capacity(model, prompt, maxNewTokens);
        return generate(prompt, maxNewTokens, sampler, stopTokens, onToken, model.newCache(capacity, mode), model.newMtpCache(capacity, mode));
    }

    /**
     * As {@link #generate(int[], int, Sampler, int[], IntConsumer)} into the caller's caches of
     * {@link Generator#capacity} positions (tests read them afterwards: the main cache holds the fed tokens'
     * entries at positions 0..prompt + emitted - 2, the MTP cache the verified pairs').
     */
    Generator.Result generate(int[] prompt, int maxNewTokens, Sampler sampler, int[] stopTokens, IntConsumer onToken,
                              KvCache cache, KvCache mtpCache) {
        int capacity = Generator.capacity(model, prompt, maxNewTokens);
        int vocab = model.config.vocabSize(), dim = model.config.hiddenSize(), n = prompt.length;
        Generator.Emitter out = new Generator.Emitter(n, maxNewTokens, capacity, stopTokens, Generator.listener(onToken));
        DraftStats.Counter stats = new DraftStats.Counter(k);
        // the confidence rule is for sampling only: there p(d) is the chance a draw equals d, while greedy acceptance
        // needs only the argmax to agree (on the 16-layer model 99% of greedy drafts are right, though in half the
        // steps the MTP's probabilities of the first two drafts multiply to under 0.3)
        double minProb = sampler.isGreedy() ? 0 : this.minProb;
        float temp = sampler.isGreedy() ? 1f : sampler.temperature();

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
        int[] in = new int[k + 1];
        while (last >= 0) {
            // K drafts need K + 1 tokens still to emit and positions pos..pos+K in the cache
            int K = Math.max(0, Math.min(k, Math.min(out.remaining() - 1, capacity - 1 - pos)));
            in[0] = last;
            if (K > 0) {
                // draft 1 from the pending verified pairs, which end with (h_{pos-1}, x_pos) at MTP position pos-1
                // (the pairs before the last only write their MTP cache entries: their outputs draft nothing)
                float[] mh = model.mtpHiddenLast(pendTok, pendH, mtpPos, mtpCache);
                float[] ml = model.logits(mh, 0, 1);
                in[1] = drafts.draft(out.count(), 1, Sampler.argmax(ml, 0, vocab));
                mtpPos += pendTok.length;      // == pos: the MTP cache entries from here on are this step's guesses
                double reach = K > 1 && minProb > 0 ? probability(ml, in[1], temp) : 1; // estimated P(drafts so far all accepted)
                // draft j from (the module's own output for draft j-1, d_{j-1}) at MTP position pos+j-2
                for (int j = 2; j <= K; j++) {
                    if (reach < minProb) { K = j - 1; break; }
                    mh = model.mtpHidden(new int[] {in[j - 1]}, mh, pos + j - 2, mtpCache);
                    ml = model.logits(mh, 0, 1);
                    in[j] = drafts.draft(out.count() + j - 1, j, Sampler.argmax(ml, 0, vocab));
                    if (minProb > 0) {
                        reach *= probability(ml, in[j], temp);
                        if (reach < minProb) { K = j - 1; break; }   // made, but not worth a verify row
                    }
                }
                pendTok = new int[0];
                pendH = new float[0];
            }
            float[] h = model.forwardHidden(Arrays.copyOf(in, K + 1), pos, cache);
            float[] lg = model.logits(h, 0, K + 1);
            // row j was computed on the right prefix while drafts 1..j all matched the emitted tokens
            int a = 0;
            boolean more;
            int tok;
            while (true) {
                tok = sampler.sample(lg, a * vocab, vocab);
                more = out.emit(tok);
                if (!more || a == K || tok != in[a + 1]) break;
                a++;
            }
            // drafts equal to the emitted tokens (one more than a when the generation ended on a matching token)
            stats.step(K, a < K && tok == in[a + 1] ? a + 1 : a);
            if (!more) break;
            pendH = concat(pendH, h, (a + 1) * dim);
            int[] t = Arrays.copyOf(pendTok, pendTok.length + a + 1);
            System.arraycopy(in, 1, t, pendTok.length, a);
            t[pendTok.length + a] = tok;
            pendTok = t;
            pos += a + 1;
            last = tok;
        }
        long t2 = System.nanoTime();
        return out.result(t1 - t0, t2 - t1, stats.stats());
    }

    /**
     * The MTP's probability of {@code tok} at temperature {@code temp} (softmax of logits / temp, {@link Ops#softmax}:
     * the same bits under every JIT tier, so the drafts a run verifies are reproducible): the module's estimate of the
     * chance that the main model's draw equals the draft.
     */
    private static double probability(float[] logits, int tok, float temp) {
        if (temp != 1f) Ops.scale(logits, 0, logits.length, 1f / temp);
        Ops.softmax(logits, 0, logits.length);
        return logits[tok];
    }

    private static float[] concat(float[] a, float[] b, int bLen) {
        float[] r = Arrays.copyOf(a, a.length + bLen);
        System.arraycopy(b, 0, r, a.length, bLen);
        return r;
    }

}
