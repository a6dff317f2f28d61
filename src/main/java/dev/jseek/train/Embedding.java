package dev.jseek.train;

/**
 * Token embedding (spec B: h = Emb(tokens), no scaling). W is [vocab, dim]. Forward gathers rows; the backward has
 * only a weight part (scatter-add of the output gradient into the rows of the looked-up tokens).
 */
public final class Embedding {
    private Embedding() {}

    /** out[i] = W[tokens[tOff + i]] for i in [0, n). Token ids are checked against the vocabulary. */
    public static void forward(float[] out, int outOff, float[] w, int wOff, int[] tokens, int tOff, int n, int dim, int vocab) {
        for (int i = 0; i < n; i++) {
            int t = tokens[tOff + i];
            if (t < 0 || t >= vocab)
                throw new IllegalArgumentException("token id " + t + " at position " + (tOff + i) + " outside vocabulary [0, " + vocab + ")");
            System.arraycopy(w, wOff + t * dim, out, outOff + i * dim, dim);
        }
    }

    /** dW[tokens[i]] += dOut[i]. */
    public static void backwardWeight(float[] dw, int dwOff, float[] dout, int dOff, int[] tokens, int tOff, int n, int dim) {
        for (int i = 0; i < n; i++) {
            int r = dwOff + tokens[tOff + i] * dim, s = dOff + i * dim;
            for (int j = 0; j < dim; j++) dw[r + j] += dout[s + j];
        }
    }
}
