package dev.jseek.train;

/**
 * Token embedding (report §2.1.1: h = Emb(tokens), no scaling). W is [vocab, dim]. Forward gathers rows; the backward has
 * only a weight part (scatter-add of the output gradient into the rows of the looked-up tokens).
 */
public final class Embedding {
    private Embedding() {}

    /** Forward: out row i = W row tokens[i], for the out.rows() tokens (W [vocab, dim]). */
    public static void forward(View out, View w, int[] tokens) {
        forward(out.a(), out.off(), w.a(), w.off(), tokens, 0, out.rows(), w.cols(), w.rows());
    }

    /** Weight part of backward (the only part): dW row tokens[i] += dOut row i. */
    public static void backwardWeight(View dw, View dout, int[] tokens) {
        backwardWeight(dw.a(), dw.off(), dout.a(), dout.off(), tokens, 0, dout.rows(), dw.cols());
    }

    /** out[i] = W[tokens[tOff + i]] for i in [0, n). Token ids are checked against the vocabulary. */
    public static void forward(float[] out, int outOff, float[] w, int wOff, int[] tokens, int tOff, int n, int dim, int vocab) {
        for (int i = 0; i < n; i++) {
            int t = tokens[tOff + i];
            if (t < 0 || t >= vocab)
                throw new IllegalArgumentException("token id " + t + " at position " + (tOff + i) + " outside vocabulary [0, " + vocab + ")");
            System.arraycopy(w, wOff + t * dim, out, outOff + i * dim, dim);
        }
    }

    /** dW[tokens[i]] += dOut[i]; parallel over column blocks (positions stay in order, so results are exact). */
    public static void backwardWeight(float[] dw, int dwOff, float[] dout, int dOff, int[] tokens, int tOff, int n, int dim) {
        int cb = Math.max(64, (dim / Math.max(1, TrainPool.threads()) + 15) / 16 * 16);
        TrainPool.forRange((dim + cb - 1) / cb, 1, (lo, hi, w) -> {
            for (int blk = lo; blk < hi; blk++) {
                int c0 = blk * cb, len = Math.min(dim, c0 + cb) - c0;
                for (int i = 0; i < n; i++) VecOps.add(dw, dwOff + tokens[tOff + i] * dim + c0, dw, dwOff + tokens[tOff + i] * dim + c0,
                        dout, dOff + i * dim + c0, len);
            }
        });
    }
}
