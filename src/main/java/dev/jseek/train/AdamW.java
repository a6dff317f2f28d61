package dev.jseek.train;

import dev.jseek.io.SafetensorsWriter;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import dev.jseek.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * AdamW (Loshchilov and Hutter; docs/architecture.md §7.1: beta1 = 0.9, beta2 = 0.95, weight decay 0.1, epsilon not reported, default
 * 1e-8) over a flat FP32 parameter arena, the one optimizer of the training code ({@link Trainer}, benchmarks, tests).
 * Per element of every trainable tensor, with t = the 1-based update count and g = grad * gradScale (gradScale carries
 * the global-norm clip coefficient of {@link GradClip}, saving a pass over the gradients):
 * <pre>
 *   m = beta1 m + (1 - beta1) g
 *   v = beta2 v + (1 - beta2) g g
 *   p = p (1 - lr wd)                                  (only tensors with decay: matrices, not norms/biases)
 *   p = p - (lr / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * </pre>
 * in FP32 with the operation order of PyTorch's single-tensor {@code torch.optim.AdamW} ({@code mul_/add_},
 * {@code addcmul_}, {@code sqrt/div/add_(eps)}, {@code addcdiv_}); the scalar factors (1 - beta, lr / (1 - beta1^t),
 * sqrt(1 - beta2^t), 1 - lr wd) are computed in double and rounded to float once per step, as PyTorch does with its
 * Python-float hyper-parameters. Non-trainable tensors (the routing bias of docs/architecture.md §5.3) are never touched.
 *
 * <p>Moments are FP32 arrays, or with {@code bf16Moments} BF16 storage: m and v are read from BF16, updated in FP32,
 * drive this step's parameter update in FP32, and are stored rounded to nearest even. Moment arrays have the arena's
 * length and layout (slots of non-trainable tensors stay 0) and are exposed for {@link TrainCheckpoint}.
 */
public final class AdamW {
    /** Hyper-parameters; {@link #deepseekV3()} gives the report's values. */
    public record Config(double beta1, double beta2, double eps, double weightDecay, boolean bf16Moments) {
        public Config {
            if (!(beta1 >= 0 && beta1 < 1)) throw new IllegalArgumentException("adam beta1 must be in [0, 1), got " + beta1);
            if (!(beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("adam beta2 must be in [0, 1), got " + beta2);
            if (!(eps > 0) || Double.isInfinite(eps)) throw new IllegalArgumentException("adam eps must be > 0, got " + eps);
            if (!(weightDecay >= 0) || Double.isInfinite(weightDecay))
                throw new IllegalArgumentException("weight decay must be >= 0, got " + weightDecay);
        }

        /** beta1 0.9, beta2 0.95, eps 1e-8, weight decay 0.1, FP32 moments (docs/architecture.md §7.1). */
        public static Config deepseekV3() { return new Config(0.9, 0.95, 1e-8, 0.1, false); }

        public Config withEps(double e) { return new Config(beta1, beta2, e, weightDecay, bf16Moments); }
        public Config withWeightDecay(double wd) { return new Config(beta1, beta2, eps, wd, bf16Moments); }
        public Config withBf16Moments(boolean b) { return new Config(beta1, beta2, eps, weightDecay, b); }
    }

    private final Config cfg;
    private final int size;
    private final List<TrainTensor> updated;
    private final float[] m, v;      // FP32 moments (null with bf16Moments)
    private final short[] mb, vb;    // BF16 moments (null otherwise)
    private long step;
    /** Work items of one step: {from, to, decay} triples over the updated tensors, at most CHUNK elements each. */
    private final int[] chunks;
    private static final int CHUNK = 1 << 15;

    /** An optimizer for an arena of {@code size} floats laid out as {@code tensors}; moments start at 0. */
    public AdamW(Config cfg, int size, List<TrainTensor> tensors) {
        this.cfg = cfg;
        this.size = size;
        List<TrainTensor> u = new ArrayList<>();
        for (TrainTensor t : tensors) {
            if ((long) t.offset() + t.size() > size)
                throw new IllegalArgumentException("tensor " + t + " lies outside the arena of " + size + " floats");
            if (t.trainable()) u.add(t);
        }
        this.updated = List.copyOf(u);
        List<Integer> cs = new ArrayList<>();
        for (TrainTensor t : updated)
            for (int o = t.offset(), end = t.offset() + t.size(); o < end; o += CHUNK) {
                cs.add(o);
                cs.add(Math.min(end, o + CHUNK));
                cs.add(t.decay() ? 1 : 0);
            }
        chunks = cs.stream().mapToInt(Integer::intValue).toArray();
        if (cfg.bf16Moments()) {
            m = v = null;
            mb = new short[size];
            vb = new short[size];
        } else {
            m = new float[size];
            v = new float[size];
            mb = vb = null;
        }
    }

    /**
     * An optimizer over a model's {@link ParamLayout} with FP32 moments; weight decay on trainable tensors of rank
     * >= 2 ({@link TrainTensor#fromLayout}).
     */
    public AdamW(ParamLayout pl, float beta1, float beta2, float eps, float weightDecay) {
        this(new Config(beta1, beta2, eps, weightDecay, false), pl.size(), TrainTensor.fromLayout(pl));
    }

    /** DeepSeek-V3's betas 0.9 / 0.95 and weight decay 0.1 over a {@link ParamLayout}, FP32 moments. */
    public static AdamW deepSeekV3(ParamLayout pl, float eps) {
        return new AdamW(Config.deepseekV3().withEps(eps), pl.size(), TrainTensor.fromLayout(pl));
    }

    public Config config() { return cfg; }

    /** Number of updates applied so far (t of the bias correction). */
    public long step() { return step; }

    /** {@link #step()} as an int (updates are counted in steps, far below 2^31 in practice). */
    public int steps() { return Math.toIntExact(step); }

    /** Arena length. */
    public int size() { return size; }

    /** The tensors this optimizer updates. */
    public List<TrainTensor> updatedTensors() { return updated; }

    /** One update with gradient scale 1 (gradients already clipped, or no clipping). */
    public void step(float[] params, float[] grads, float lr) { step(params, grads, lr, 1.0); }

    /**
     * One AdamW update of {@code params} with {@code grads * gradScale} and learning rate {@code lr}. Increments
     * {@link #step()} first (t starts at 1). With BF16 moments, m and v are read from BF16, updated in FP32, the
     * FP32 values drive this step's parameter update, and are then stored rounded to nearest even.
     */
    public void step(float[] params, float[] grads, double lr, double gradScale) {
        if (params.length < size || grads.length < size)
            throw new IllegalArgumentException("params/grads have " + params.length + "/" + grads.length + " floats, optimizer needs " + size);
        if (!(lr >= 0) || Double.isInfinite(lr)) throw new IllegalArgumentException("learning rate must be finite and >= 0, got " + lr);
        step++;
        double bc1 = 1 - Math.pow(cfg.beta1(), step);
        double bc2 = 1 - Math.pow(cfg.beta2(), step);
        float stepSize = (float) (lr / bc1);
        float sqrtBc2 = (float) Math.sqrt(bc2);
        float b1 = (float) cfg.beta1(), c1 = (float) (1 - cfg.beta1());
        float b2 = (float) cfg.beta2(), c2 = (float) (1 - cfg.beta2());
        float eps = (float) cfg.eps();
        float gs = (float) gradScale;
        float decayFactor = (float) (1 - lr * cfg.weightDecay());
        TrainPool.forRange(chunks.length / 3, 1, (lo, hi, w) -> {
            for (int c = lo; c < hi; c++) {
                int from = chunks[3 * c], to = chunks[3 * c + 1];
                float df = chunks[3 * c + 2] != 0 ? decayFactor : 1f;
                if (m != null) updateF32(params, grads, from, to, gs, b1, c1, b2, c2, df, stepSize, sqrtBc2, eps);
                else updateBf16(params, grads, from, to, gs, b1, c1, b2, c2, df, stepSize, sqrtBc2, eps);
            }
        });
    }

    /**
     * The FP32 update of [from, to): vectorized with the same operations in the same order as the scalar tail (no
     * fused multiply-add), so every element is bit-identical to the scalar formula; parallel chunks are disjoint.
     */
    private void updateF32(float[] p, float[] g, int from, int to, float gs, float b1, float c1, float b2, float c2,
                           float df, float stepSize, float sqrtBc2, float eps) {
        float[] m = this.m, v = this.v;
        int i = from;
        for (; i <= to - VecOps.L; i += VecOps.L) {
            FloatVector gi = FloatVector.fromArray(VecOps.F, g, i).mul(gs);
            FloatVector mi = FloatVector.fromArray(VecOps.F, m, i).mul(b1).add(gi.mul(c1));
            FloatVector vi = FloatVector.fromArray(VecOps.F, v, i).mul(b2).add(gi.mul(c2).mul(gi));
            mi.intoArray(m, i);
            vi.intoArray(v, i);
            FloatVector den = vi.lanewise(VectorOperators.SQRT).div(sqrtBc2).add(eps);
            FloatVector.fromArray(VecOps.F, p, i).mul(df).sub(mi.mul(stepSize).div(den)).intoArray(p, i);
        }
        for (; i < to; i++) {
            float gi = g[i] * gs;
            float mi = b1 * m[i] + c1 * gi;
            float vi = b2 * v[i] + c2 * gi * gi;
            m[i] = mi;
            v[i] = vi;
            p[i] = p[i] * df - stepSize * mi / ((float) Math.sqrt(vi) / sqrtBc2 + eps);
        }
    }

    private void updateBf16(float[] p, float[] g, int from, int to, float gs, float b1, float c1, float b2, float c2,
                            float df, float stepSize, float sqrtBc2, float eps) {
        short[] m = this.mb, v = this.vb;
        for (int i = from; i < to; i++) {
            float gi = g[i] * gs;
            float mi = b1 * bf16(m[i]) + c1 * gi;
            float vi = b2 * bf16(v[i]) + c2 * gi * gi;
            m[i] = SafetensorsWriter.toBf16(mi);
            v[i] = SafetensorsWriter.toBf16(vi);
            p[i] = p[i] * df - stepSize * mi / ((float) Math.sqrt(vi) / sqrtBc2 + eps);
        }
    }

    /**
     * Global-norm clipping over a {@link ParamLayout}: {@link GradClip#clip} (PyTorch's {@code clip_grad_norm_}
     * coefficient maxNorm / (norm + 1e-6)); returns the norm before clipping.
     *
     * @deprecated kept for callers of the earlier model-package optimizer; use {@link GradClip}.
     */
    @Deprecated
    public static double clipGradNorm(ParamLayout pl, float[] grads, double maxNorm) {
        return GradClip.clip(grads, TrainTensor.fromLayout(pl), maxNorm);
    }

    /** BF16 bits -> float (exact). */
    public static float bf16(short bits) { return Float.intBitsToFloat((bits & 0xFFFF) << 16); }

    // ---- state for checkpoints ----

    /** Storage dtype of the moments: F32 or BF16. */
    public DType momentDType() { return cfg.bf16Moments() ? DType.BF16 : DType.F32; }

    /** The first moment's storage (native-order view of the FP32 or BF16 array, arena layout). */
    public MemorySegment firstMoment() { return m != null ? MemorySegment.ofArray(m) : MemorySegment.ofArray(mb); }

    /** The second moment's storage (as {@link #firstMoment()}). */
    public MemorySegment secondMoment() { return v != null ? MemorySegment.ofArray(v) : MemorySegment.ofArray(vb); }

    /** First moment of element i as a float. */
    public float m(int i) { return m != null ? m[i] : bf16(mb[i]); }

    /** Second moment of element i as a float. */
    public float v(int i) { return v != null ? v[i] : bf16(vb[i]); }

    /** Sets the update count (restoring a checkpoint; the moments are restored through the segments). */
    public void setStep(long step) {
        if (step < 0) throw new IllegalArgumentException("optimizer step must be >= 0, got " + step);
        this.step = step;
    }
}
