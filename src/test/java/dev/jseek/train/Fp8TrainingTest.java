package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.model.ModelConfig;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link Precision#FP8} training (report §3.3): the FP8 model's loss and every parameter gradient against the FP32 model's
 * (which the FD / PyTorch tests verify) with quantization-level tolerances; a finite-difference check of the FP8
 * loss along the FP8 gradient; determinism; the FP8 activation cache is smaller than the float activations.
 */
class Fp8TrainingTest {
    /**
     * Wider than Harness.tiny so that hidden, q_lora, kv_lora and FFN dims span more than one 128 tile: vocab 64,
     * hidden 160, dense FFN 272, expert FFN 144, q_lora 136, kv_lora 144, 2 heads, 4 experts (top-{@code topK}),
     * 1 shared, {@code dense} leading dense layers of 2, {@code mtp} MTP depths.
     */
    static ModelConfig wide(int dense, int topK, int mtp) {
        return new ModelConfig(64, 160, 272, 144, 2, dense, 1, 2, 2, 136, 144, 16, 16, 16,
                4, 1, topK, 1, 1, 2.5, true, "sigmoid", "noaux_tc", true, 0.001, "silu", 1e-6,
                10000, 163840, null, mtp, false, false, 0, 1, 0.02, null, "float32", "deepseek_v3");
    }

    static int[][] data(ModelConfig c, int B, int T, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] tok = new int[B * T], tg = new int[B * T];
        for (int i = 0; i < tok.length; i++) tok[i] = r.nextInt(c.vocabSize());
        for (int i = 0; i < tg.length; i++) tg[i] = (i % T == T - 1) ? r.nextInt(c.vocabSize()) : tok[i + 1];
        return new int[][] {tok, tg};
    }

    record Run(float loss, float[] grads) {}

    static Run run(TrainModel m, int[][] d, int B, int T) {
        m.zeroGrad();
        float loss = m.forwardBackward(d[0], d[1], B, T);
        return new Run(loss, m.grads().clone());
    }

    /**
     * Runs the same batch in FP32 and FP8 mode and checks: loss within lossTol (relative), every trainable tensor's
     * gradient within tensorTol (relative L2; skipped when tensorTol is NaN), the cosine of the whole gradient above
     * minCos; FP8 really changes the result; FP8 is deterministic; FP32 mode comes back bit for bit.
     */
    private void compare(String label, ModelConfig c, int B, int T, long seed, double lossTol, double tensorTol, double minCos) {
        TrainModel m32 = new TrainModel(c, B, T);
        Harness.randomParams(m32.layout(), m32.params(), seed);
        m32.setBalanceAlpha(0.01f);
        TrainModel m = new TrainModel(c, B, T, true, Precision.FP8);
        System.arraycopy(m32.params(), 0, m.params(), 0, m.params().length);
        m.setBalanceAlpha(0.01f);
        assertEquals(Precision.FP8, m.precision());
        assertTrue(m.activationBytes() < m32.activationBytes(), "the FP8 cache holds less than the float activations");
        int[][] d = data(c, B, T, seed + 1);
        Run r32 = run(m32, d, B, T);
        Run r8 = run(m, d, B, T);
        double dl = Math.abs(r8.loss() - r32.loss()) / r32.loss();
        double worst = 0;
        String worstName = "";
        for (ParamLayout.Entry e : m.layout().entries()) {
            int o = e.offset(), n = e.size();
            if (!e.trainable()) {
                for (int i = 0; i < n; i++) assertEquals(0f, r8.grads()[o + i], e.name());
                continue;
            }
            double num = 0, den = 0;
            for (int i = 0; i < n; i++) {
                double a = r8.grads()[o + i], b = r32.grads()[o + i];
                num += (a - b) * (a - b);
                den += b * b;
            }
            if (den == 0) continue;
            double rel = Math.sqrt(num / den);
            if (rel > worst) { worst = rel; worstName = e.name(); }
        }
        double dot = 0, n8 = 0, n32 = 0;
        for (int i = 0; i < r8.grads().length; i++) {
            double a = r8.grads()[i], b = r32.grads()[i];
            dot += a * b; n8 += a * a; n32 += b * b;
        }
        double cos = dot / Math.sqrt(n8 * n32);
        System.out.printf("%s: loss FP32 %.6f, FP8 %.6f (rel diff %.2e); gradients: worst tensor rel L2 %.3f (%s), cosine of all %.4f%n",
                label, r32.loss(), r8.loss(), dl, worst, worstName, cos);
        assertTrue(dl < lossTol, label + ": loss rel diff " + dl);
        assertTrue(dl > 0 && worst > 1e-3, label + ": FP8 mode must change the loss and the gradients");
        if (!Double.isNaN(tensorTol)) assertTrue(worst < tensorTol, label + ": " + worstName + " gradient rel L2 error " + worst);
        assertTrue(cos > minCos, label + ": gradient cosine " + cos);
        assertArrayEquals(r8.grads(), run(m, d, B, T).grads(), "FP8 mode is deterministic");
        assertThrows(IllegalStateException.class, () -> m.setPrecision(Precision.FP32), "an FP8 layout runs only in FP8");
        assertThrows(IllegalStateException.class, () -> m32.setPrecision(Precision.FP8), "FP8 needs its layout");
    }

    // Quantization noise (3 mantissa bits: ~3.5% RMS per GEMM operand pair) compounds through the ~10 GEMMs in series
    // of a forward + backward; measured: per-tensor gradient errors 0.10-0.35, cosine ~0.98-0.99, loss within 1-3%.

    @Test
    void denseModelGradientsFollowFp32() {
        compare("dense", wide(2, 4, 0), 2, 8, 61, 0.03, 0.5, 0.97);
    }

    @Test
    void moeWithEveryExpertSelectedAndMtpFollowsFp32() {
        // top-4 of 4 experts: no routing decision can flip, so the MoE gradients must follow like the dense ones
        compare("moe top-4 of 4 + MTP", wide(1, 4, 1), 2, 8, 62, 0.03, 0.5, 0.97);
    }

    @Test
    void tinyMoeWithTopKRoutingAndTwoMtpDepthsStaysClose() {
        // top-3 of 8 with 16-wide hidden states: FP8 noise flips routing decisions, which moves whole tokens between
        // experts (per-expert gradients can change completely), so only the loss and the overall direction are checked
        compare("tiny moe top-3 of 8", Harness.tiny(2, 1, 12, 4, 2, true, 1, Harness.v3Yarn(), 2), 2, 6, 51, 0.05, Double.NaN, 0.5);
    }

    @Test
    void fp8GradientMatchesAFiniteDifferenceOfTheFp8LossAlongIt() {
        ModelConfig c = wide(1, 2, 1);
        int B = 2, T = 8;
        TrainModel m = new TrainModel(c, B, T, true, Precision.FP8);
        Harness.randomParams(m.layout(), m.params(), 71);
        int[][] d = data(c, B, T, 72);
        Run r = run(m, d, B, T);
        double[] dir = new double[r.grads().length];
        double norm = 0;
        for (int i = 0; i < dir.length; i++) norm += (double) r.grads()[i] * r.grads()[i];
        norm = Math.sqrt(norm);
        for (int i = 0; i < dir.length; i++) dir[i] = r.grads()[i] / norm;
        float[] p0 = m.params().clone();
        // the FP8 loss is piecewise smooth (codes jump), so the slope is fitted over several macroscopic steps:
        // slope = sum (L(+h) - L(-h)) 2h / sum (2h)^2, which averages the quantization jumps out
        double sxy = 0, sxx = 0;
        for (int step = 1; step <= 10; step++) {
            double h = 1e-3 * step;
            double[] l = new double[2];
            for (int s = 0; s < 2; s++) {
                for (int i = 0; i < p0.length; i++) m.params()[i] = (float) (p0[i] + (s == 0 ? h : -h) * dir[i]);
                l[s] = m.forward(d[0], d[1], B, T);
            }
            System.out.printf("  h=%.0e: central difference %.5f%n", h, (l[0] - l[1]) / (2 * h));
            sxy += (l[0] - l[1]) * 2 * h;
            sxx += 4 * h * h;
        }
        double fd = sxy / sxx;
        System.out.printf("FP8 directional derivative along the FP8 gradient: analytic %.5f, fitted FD slope %.5f%n", norm, fd);
        assertEquals(norm, fd, 0.1 * norm);
        System.arraycopy(p0, 0, m.params(), 0, p0.length);
        assertEquals(r.loss(), m.forward(d[0], d[1], B, T));
        assertFalse(Arrays.equals(r.grads(), new float[r.grads().length]));
    }
}
