package dev.jseek.train;

/**
 * AdamW on the flat parameter arena (spec F.1: beta1 0.9, beta2 0.95, weight decay 0.1, epsilon not published;
 * FP32 master weights and FP32 moments). The optimizer state is one arena: m at [0, n), v at [n, 2n).
 * Update per element, t = step number from 1, as torch.optim.AdamW:
 * p -= lr * wd * p (decoupled decay, matrices only); m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
 * Tensors of rank 1 (RMSNorm weights) get no weight decay; non-trainable tensors (routing biases) are not touched.
 * {@link #clipGradNorm} scales the gradients to a global L2 norm of at most maxNorm (spec F.1: 1.0).
 */
public final class AdamW {
    private final ParamLayout pl;
    private final float beta1, beta2, eps, weightDecay;
    private final float[] state;
    private final int n;
    private int step;

    public AdamW(ParamLayout pl, float beta1, float beta2, float eps, float weightDecay) {
        if (!(beta1 >= 0 && beta1 < 1)) throw new IllegalArgumentException("beta1 must be in [0, 1), got " + beta1);
        if (!(beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("beta2 must be in [0, 1), got " + beta2);
        if (!(eps > 0)) throw new IllegalArgumentException("eps must be > 0, got " + eps);
        if (!(weightDecay >= 0)) throw new IllegalArgumentException("weight decay must be >= 0, got " + weightDecay);
        this.pl = pl;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        n = pl.size();
        if ((long) n * 2 > Integer.MAX_VALUE - 16) throw new IllegalArgumentException("optimizer state exceeds 2^31 floats for " + n + " parameters");
        state = new float[2 * n];
    }

    /** DeepSeek-V3 defaults: betas 0.9 / 0.95, weight decay 0.1. */
    public static AdamW deepSeekV3(ParamLayout pl, float eps) { return new AdamW(pl, 0.9f, 0.95f, eps, 0.1f); }

    /** One update of {@code params} from {@code grads} with learning rate {@code lr} (schedules pass it per step). */
    public void step(float[] params, float[] grads, float lr) {
        step++;
        double bc1 = 1 - Math.pow(beta1, step), bc2 = 1 - Math.pow(beta2, step);
        float stepSize = (float) (lr / bc1), sqrtBc2 = (float) Math.sqrt(bc2);
        for (ParamLayout.Entry e : pl.entries()) {
            if (!e.trainable()) continue;
            float decay = e.shape().length >= 2 ? 1f - lr * weightDecay : 1f;
            int o = e.offset(), end = o + e.size();
            for (int i = o; i < end; i++) {
                float g = grads[i];
                float m = beta1 * state[i] + (1 - beta1) * g;
                float v = beta2 * state[n + i] + (1 - beta2) * g * g;
                state[i] = m;
                state[n + i] = v;
                params[i] = params[i] * decay - stepSize * m / ((float) Math.sqrt(v) / sqrtBc2 + eps);
            }
        }
    }

    /** Scales trainable gradients so their global L2 norm is at most maxNorm; returns the norm before clipping. */
    public static double clipGradNorm(ParamLayout pl, float[] grads, double maxNorm) {
        double ss = 0;
        for (ParamLayout.Entry e : pl.entries()) {
            if (!e.trainable()) continue;
            for (int i = e.offset(), end = e.offset() + e.size(); i < end; i++) ss += (double) grads[i] * grads[i];
        }
        double norm = Math.sqrt(ss);
        if (norm > maxNorm && norm > 0) {
            float s = (float) (maxNorm / norm);
            for (ParamLayout.Entry e : pl.entries())
                if (e.trainable()) for (int i = e.offset(), end = e.offset() + e.size(); i < end; i++) grads[i] *= s;
        }
        return norm;
    }

    /** Number of steps taken. */
    public int steps() { return step; }

    /** The optimizer state arena (m then v). */
    public float[] state() { return state; }
}
