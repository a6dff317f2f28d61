package dev.jseek.train;

/**
 * Balance losses on the router's sigmoid scores s [N, E] and the routing decision (top-K indices [N, K]).
 *
 * <p>Sequence-wise (docs/architecture.md §5.4, report eqs. 17-20), per sequence of T tokens: f_i = E/(K T) * #{t : i in TopK_t},
 * s'_{i,t} = s_{i,t} / sum_j s_{j,t}, P_i = (1/T) sum_t s'_{i,t}, L = alpha * sum_i f_i P_i; the batch loss is the mean
 * over sequences. The classic (batch-wise, DeepSeek-V2 style) auxiliary loss is the same formula over the whole
 * batch as one group ({@code seqs = 1, seqLen = N}); it is provided for comparison only.
 *
 * <p>f is piecewise constant (no gradient); dL/ds_{j,t} = alpha / (seqs T) * (f_j / Z_t - sum_i f_i s_{i,t} / Z_t^2),
 * Z_t = sum_i s_{i,t}.
 */
public final class BalanceLoss {
    private BalanceLoss() {}

    /** Returns the loss; stores f [seqs, E] at f[fOff..] for the backward. */
    public static double forward(float[] s, int sOff, int[] idx, int seqs, int seqLen, int E, int K, float alpha,
                                 float[] f, int fOff) {
        double total = 0;
        for (int b = 0; b < seqs; b++) {
            int fo = fOff + b * E;
            for (int i = 0; i < E; i++) f[fo + i] = 0f;
            double[] pi = new double[E];
            for (int t = 0; t < seqLen; t++) {
                int row = b * seqLen + t;
                for (int j = 0; j < K; j++) f[fo + idx[row * K + j]] += 1f;
                double z = 0;
                for (int i = 0; i < E; i++) z += s[sOff + row * E + i];
                for (int i = 0; i < E; i++) pi[i] += s[sOff + row * E + i] / z;
            }
            float norm = (float) E / ((float) K * seqLen);
            double l = 0;
            for (int i = 0; i < E; i++) {
                f[fo + i] *= norm;
                l += f[fo + i] * (pi[i] / seqLen);
            }
            total += l;
        }
        return alpha * total / seqs;
    }

    /** ds[N, E] += scale * dL/ds. */
    public static void backward(float[] s, int sOff, float[] f, int fOff, int seqs, int seqLen, int E, float alpha, float scale,
                                float[] ds, int dsOff) {
        float c = scale * alpha / ((float) seqs * seqLen);
        for (int b = 0; b < seqs; b++) {
            int fo = fOff + b * E;
            for (int t = 0; t < seqLen; t++) {
                int ro = sOff + (b * seqLen + t) * E, dro = dsOff + (b * seqLen + t) * E;
                double z = 0, af = 0;
                for (int i = 0; i < E; i++) { z += s[ro + i]; af += (double) f[fo + i] * s[ro + i]; }
                float iz = (float) (1 / z), az2 = (float) (af / (z * z));
                for (int j = 0; j < E; j++) ds[dro + j] += c * (f[fo + j] * iz - az2);
            }
        }
    }
}
