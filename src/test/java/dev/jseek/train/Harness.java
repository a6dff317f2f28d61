package dev.jseek.train;

import dev.jseek.model.ModelConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;

/** Shared pieces of the module gradient tests: tiny configs, random parameters, the FD sweep over a layout. */
final class Harness {
    private Harness() {}

    static ModelConfig.RopeScaling v3Yarn() { return new ModelConfig.RopeScaling("yarn", 40, 4096, 32, 1, 1, 1); }

    /**
     * Tiny MoE config: 2 heads, q_lora 12, kv_lora 8, nope 4 / rope 8 / v 4, 8 experts in 4 groups (2 kept), top-3,
     * 1 shared expert, YaRN with the V3 constants (ramp between pairs 1 and 3).
     */
    static ModelConfig tiny(int layers, int firstDense, int qLora, int nGroup, int topkGroup, boolean normTopk, int shared,
                          ModelConfig.RopeScaling yarn, int mtp) {
        return new ModelConfig(24, 16, 24, 8, layers, firstDense, 1, 2, 2, qLora == 0 ? null : qLora, 8, 4, 8, 4,
                8, shared, 3, nGroup, topkGroup, 2.5, normTopk, "sigmoid", "noaux_tc", true, 0.001, "silu", 1e-6,
                10000, 163840, yarn, mtp, false, false, 0, 1, 0.02, null, "float32", "deepseek_v3");
    }

    static ModelConfig tinyMoe() { return tiny(2, 1, 12, 4, 2, true, 1, v3Yarn(), 1); }

    /** Matrices ~ N(0, 1/in), norm weights 1 + N(0, 0.2^2), routing biases N(0, 0.1^2). */
    static void randomParams(ParamLayout pl, float[] p, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        for (ParamLayout.Entry e : pl.entries()) {
            int[] sh = e.shape();
            if (!e.trainable()) Fd.fillGaussian(p, e.offset(), e.size(), 0.1, rnd);
            else if (sh.length == 1) {
                Fd.fillGaussian(p, e.offset(), e.size(), 0.2, rnd);
                for (int i = 0; i < e.size(); i++) p[e.offset() + i] += 1f;
            } else Fd.fillGaussian(p, e.offset(), e.size(), 1 / Math.sqrt(sh[1]), rnd);
        }
    }

    /** FD check of every trainable tensor (up to maxSamples elements each); non-trainable ones must get zero grad. */
    static double checkParams(String label, ParamLayout pl, float[] grads, double[] pd, DoubleSupplier loss, int maxSamples) {
        double worst = 0;
        for (ParamLayout.Entry e : pl.entries()) {
            if (!e.trainable()) {
                for (int i = 0; i < e.size(); i++) assertEquals(0f, grads[e.offset() + i], label + " " + e.name() + " must get no gradient");
                continue;
            }
            worst = Math.max(worst, Fd.check(label + " " + e.name(), grads, e.offset(), pd, e.offset(), e.size(), loss, maxSamples, 7));
        }
        return worst;
    }

    static void assertForward(String label, float[] a, int off, double[][] ref, double tol) {
        int w = ref[0].length;
        double[] flat = new double[ref.length * w];
        for (int i = 0; i < ref.length; i++) System.arraycopy(ref[i], 0, flat, i * w, w);
        double err = Fd.relToMax(a, off, flat, 0, flat.length);
        assertTrue(err <= tol, label + " forward differs from the double twin: " + err);
    }
}
