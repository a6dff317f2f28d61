package dev.jseek.posttrain;

import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.KvCache;

/**
 * Log-probabilities of given tokens under an inference model (docs/architecture.md §7.6: pi_ref of GRPO's KL term, model-based
 * rewards): one forward over prompt + completion (all but the last token) and a log-softmax in double at each
 * completion position.
 */
public final class SequenceScorer {
    private SequenceScorer() {}

    /** log pi(completion[t] | prompt, completion[0..t)) for every t. */
    public static double[] logProbs(DeepSeekV3 m, int[] prompt, int[] completion) {
        if (prompt.length == 0 || completion.length == 0) throw new IllegalArgumentException("empty prompt or completion");
        int n = prompt.length + completion.length - 1, V = m.config.vocabSize();
        int[] seq = new int[n];
        System.arraycopy(prompt, 0, seq, 0, prompt.length);
        System.arraycopy(completion, 0, seq, prompt.length, completion.length - 1);
        KvCache cache = m.newCache(n, AttnMode.ABSORB);
        float[] logits = m.logits(m.forwardHidden(seq, 0, cache), prompt.length - 1, completion.length);
        double[] out = new double[completion.length];
        for (int t = 0; t < completion.length; t++) out[t] = logSoftmaxAt(logits, t * V, V, completion[t]);
        return out;
    }

    /** Next-token probabilities [vocab] after {@code prompt}, in double. */
    public static double[] nextTokenProbs(DeepSeekV3 m, int[] prompt) {
        int V = m.config.vocabSize();
        KvCache cache = m.newCache(prompt.length, AttnMode.ABSORB);
        float[] logits = m.logits(m.forwardHidden(prompt, 0, cache), prompt.length - 1, 1);
        double max = Double.NEGATIVE_INFINITY, s = 0;
        for (int i = 0; i < V; i++) max = Math.max(max, logits[i]);
        double[] p = new double[V];
        for (int i = 0; i < V; i++) s += p[i] = Math.exp(logits[i] - max);
        for (int i = 0; i < V; i++) p[i] /= s;
        return p;
    }

    static double logSoftmaxAt(float[] x, int off, int V, int target) {
        double max = Double.NEGATIVE_INFINITY, s = 0;
        for (int i = 0; i < V; i++) max = Math.max(max, x[off + i]);
        for (int i = 0; i < V; i++) s += Math.exp(x[off + i] - max);
        return x[off + target] - max - Math.log(s);
    }
}
