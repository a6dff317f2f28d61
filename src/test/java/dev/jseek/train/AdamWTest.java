package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * AdamW against a double-precision scalar reference of torch.optim.AdamW, against a PyTorch fixture (with
 * clip_grad_norm_), BF16 moment storage against an FP32 twin, the ParamLayout constructor, and a tiny training run.
 */
class AdamWTest {
    static final double B1 = 0.9, B2 = 0.95, EPS = 1e-8, WD = 0.1;

    /** A scalar double-precision AdamW (the oracle), written independently of {@link AdamW}. */
    static final class RefAdamW {
        final double[] p, m, v;
        final boolean[] trainable, decay;
        int t;

        RefAdamW(float[] init, List<TrainTensor> tensors) {
            p = new double[init.length];
            for (int i = 0; i < init.length; i++) p[i] = init[i];
            m = new double[init.length];
            v = new double[init.length];
            trainable = new boolean[init.length];
            decay = new boolean[init.length];
            for (TrainTensor x : tensors)
                for (int i = x.offset(); i < x.offset() + x.size(); i++) {
                    trainable[i] = x.trainable();
                    decay[i] = x.decay();
                }
        }

        void step(double[] g, double lr) {
            t++;
            for (int i = 0; i < p.length; i++) {
                if (!trainable[i]) continue;
                m[i] = B1 * m[i] + (1 - B1) * g[i];
                v[i] = B2 * v[i] + (1 - B2) * g[i] * g[i];
                double mh = m[i] / (1 - Math.pow(B1, t)), vh = v[i] / (1 - Math.pow(B2, t));
                if (decay[i]) p[i] -= lr * WD * p[i];
                p[i] -= lr * mh / (Math.sqrt(vh) + EPS);
            }
        }
    }

    static List<TrainTensor> layout() {
        return List.of(TrainTensor.of("model.layers.0.mlp.experts.0.up_proj.weight", 0, new int[] {8, 16}, true),   // decay
                TrainTensor.of("model.layers.0.post_attention_layernorm.weight", 128, new int[] {16}, true),         // no decay
                TrainTensor.of("model.layers.0.mlp.gate.e_score_correction_bias", 144, new int[] {4}, false),       // frozen
                TrainTensor.of("lm_head.weight", 148, new int[] {5, 16}, true));
    }

    static float[] randomParams(SplittableRandom r, int n) {
        float[] p = new float[n];
        for (int i = 0; i < n; i++) p[i] = (float) (r.nextGaussian() * 0.5);
        return p;
    }

    @Test
    void matchesScalarDoubleReferenceOverManySteps() {
        List<TrainTensor> ts = layout();
        int n = 228;
        SplittableRandom r = new SplittableRandom(7);
        float[] p = randomParams(r, n);
        float[] frozen = java.util.Arrays.copyOfRange(p, 144, 148);
        RefAdamW ref = new RefAdamW(p, ts);
        AdamW opt = new AdamW(AdamW.Config.deepseekV3(), n, ts);
        float[] g = new float[n];
        double[] gd = new double[n];
        for (int s = 1; s <= 25; s++) {
            double lr = 1e-3 * (1 + 0.1 * s);
            double scale = s % 5 == 0 ? 10 : 0.1; // vary gradient magnitudes
            for (int i = 0; i < n; i++) {
                g[i] = (float) (r.nextGaussian() * scale);
                gd[i] = g[i];
            }
            opt.step(p, g, lr, 1.0);
            ref.step(gd, lr);
        }
        assertEquals(25, opt.step());
        double maxRel = 0;
        for (int i = 0; i < n; i++) {
            maxRel = Math.max(maxRel, Math.abs(p[i] - ref.p[i]) / Math.max(1e-3, Math.abs(ref.p[i])));
            if (ref.trainable[i]) assertEquals(ref.m[i], opt.m(i), 1e-5 * Math.max(1, Math.abs(ref.m[i])), "m[" + i + "]");
        }
        assertTrue(maxRel < 2e-5, "max relative error vs double reference " + maxRel);
        assertArrayEquals(frozen, java.util.Arrays.copyOfRange(p, 144, 148), "frozen routing bias must not move");
        assertEquals(0f, opt.m(145));
        assertEquals(0f, opt.v(145));
    }

    @Test
    void weightDecayOnlyOnMatrices() {
        List<TrainTensor> ts = layout();
        int n = 228;
        float[] p = randomParams(new SplittableRandom(3), n);
        float[] before = p.clone();
        AdamW opt = new AdamW(AdamW.Config.deepseekV3(), n, ts);
        opt.step(p, new float[n], 0.5, 1.0); // zero gradient: only decay acts
        for (int i = 0; i < 128; i++) assertEquals(before[i] * (float) (1 - 0.5 * 0.1), p[i], 0f, "matrix decays");
        for (int i = 128; i < 148; i++) assertEquals(before[i], p[i], 0f, "norm weight / bias do not decay");
        for (int i = 148; i < n; i++) assertEquals(before[i] * 0.95f, p[i], 1e-7f);
    }

    @Test
    void matchesTorchAdamWWithClipping() throws Exception {
        JsonNode doc;
        try (InputStream in = AdamWTest.class.getResourceAsStream("/train/adamw_torch.json")) {
            doc = new ObjectMapper().readTree(in);
        }
        List<TrainTensor> ts = List.of(TrainTensor.of("w", 0, new int[] {3, 4}, true), TrainTensor.of("n", 12, new int[] {4}, true));
        float[] p = new float[16];
        fill(p, 0, doc.at("/init/w"));
        fill(p, 12, doc.at("/init/n"));
        AdamW opt = new AdamW(new AdamW.Config(doc.get("beta1").asDouble(), doc.get("beta2").asDouble(), doc.get("eps").asDouble(),
                doc.get("weight_decay").asDouble(), false), 16, ts);
        float[] g = new float[16];
        int k = 0;
        boolean clipped = false, unclipped = false;
        for (JsonNode st : doc.get("steps")) {
            k++;
            fill(g, 0, st.get("grad_w"));
            fill(g, 12, st.get("grad_n"));
            double norm = GradClip.globalNorm(g, ts);
            assertEquals(st.get("pre_clip_norm").asDouble(), norm, 1e-12 * norm, "pre-clip norm at step " + k);
            double c = GradClip.coefficient(norm, doc.get("max_norm").asDouble());
            clipped |= c < 1;
            unclipped |= c == 1;
            opt.step(p, g, st.get("lr").asDouble(), c);
            for (int i = 0; i < 12; i++) assertEquals(st.get("w").get(i).asDouble(), p[i], 2e-6, "w[" + i + "] after step " + k);
            for (int i = 0; i < 4; i++) assertEquals(st.get("n").get(i).asDouble(), p[12 + i], 2e-6, "n[" + i + "] after step " + k);
        }
        assertTrue(clipped && unclipped, "fixture exercises both clipped and unclipped steps");
    }

    private static void fill(float[] a, int off, JsonNode arr) {
        for (int i = 0; i < arr.size(); i++) a[off + i] = (float) arr.get(i).asDouble();
    }

    /** Round to nearest even BF16 by comparing distances in double (independent of the bit trick in the code). */
    static float roundBf16(float x) {
        if (!Float.isFinite(x)) return x;
        int bits = Float.floatToRawIntBits(x);
        float lo = Float.intBitsToFloat(bits & 0xFFFF0000); // truncated toward zero
        double ulp = Math.scalb(1.0, Math.max(Math.getExponent(lo), Float.MIN_EXPONENT) - 7);
        double hi = (double) lo + Math.copySign(ulp, x);     // next BF16 away from zero (may be 2^128)
        double dl = Math.abs((double) x - lo), dh = Math.abs(hi - x);
        boolean up = dh < dl || (dh == dl && ((Float.floatToRawIntBits(lo) >>> 16) & 1) == 1);
        if (!up) return lo;
        return Math.abs(hi) >= 0x1p128 ? Math.copySign(Float.POSITIVE_INFINITY, x) : (float) hi;
    }

    @Test
    void bf16MomentsEqualFloatTwinWithRounding() {
        List<TrainTensor> ts = layout();
        int n = 228;
        SplittableRandom r = new SplittableRandom(11);
        float[] p = randomParams(r, n), q = p.clone(), p32 = p.clone();
        AdamW opt = new AdamW(AdamW.Config.deepseekV3().withBf16Moments(true), n, ts);
        AdamW opt32 = new AdamW(AdamW.Config.deepseekV3(), n, ts);
        assertEquals(dev.jseek.tensor.DType.BF16, opt.momentDType());
        float[] m = new float[n], v = new float[n];
        boolean[] tr = new boolean[n], dec = new boolean[n];
        for (TrainTensor t : ts) for (int i = t.offset(); i < t.offset() + t.size(); i++) { tr[i] = t.trainable(); dec[i] = t.decay(); }
        float[] g = new float[n];
        for (int s = 1; s <= 12; s++) {
            double lr = 2e-3, gs = 0.7;
            for (int i = 0; i < n; i++) g[i] = (float) r.nextGaussian();
            opt.step(p, g, lr, gs);
            opt32.step(p32, g, lr, gs);
            // twin: FP32 arithmetic, moments stored rounded to BF16
            float stepSize = (float) (lr / (1 - Math.pow(B1, s)));
            float sqrtBc2 = (float) Math.sqrt(1 - Math.pow(B2, s));
            for (int i = 0; i < n; i++) {
                if (!tr[i]) continue;
                float gi = g[i] * (float) gs;
                float mi = 0.9f * m[i] + (float) (1 - 0.9) * gi;
                float vi = 0.95f * v[i] + (float) (1 - 0.95) * gi * gi;
                m[i] = roundBf16(mi);
                v[i] = roundBf16(vi);
                float df = dec[i] ? (float) (1 - lr * WD) : 1f;
                q[i] = q[i] * df - stepSize * mi / ((float) Math.sqrt(vi) / sqrtBc2 + (float) EPS);
            }
        }
        for (int i = 0; i < n; i++) {
            assertEquals(Float.floatToRawIntBits(q[i]), Float.floatToRawIntBits(p[i]), "param " + i);
            assertEquals(Float.floatToRawIntBits(m[i]), Float.floatToRawIntBits(opt.m(i)), "m " + i);
            assertEquals(Float.floatToRawIntBits(v[i]), Float.floatToRawIntBits(opt.v(i)), "v " + i);
            assertEquals(p32[i], p[i], 5e-4, "BF16 moments stay close to FP32 moments at " + i);
        }
    }

    @Test
    void bf16RoundingIsNearestEven() {
        // 1 + 2^-8 is exactly halfway between 1 and 1 + 2^-7: ties to even (1.0)
        assertEquals(1.0f, AdamW.bf16(dev.jseek.io.SafetensorsWriter.toBf16(1f + 0x1p-8f)));
        // 1 + 3*2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even): rounds up
        assertEquals(1f + 0x1p-6f, AdamW.bf16(dev.jseek.io.SafetensorsWriter.toBf16(1f + 3 * 0x1p-8f)));
        SplittableRandom r = new SplittableRandom(5);
        for (int i = 0; i < 100_000; i++) {
            float x = Float.intBitsToFloat(r.nextInt());
            if (!Float.isFinite(x)) continue;
            assertEquals(roundBf16(x), AdamW.bf16(dev.jseek.io.SafetensorsWriter.toBf16(x)), 0f, "x = " + x);
        }
    }

    @Test
    void rejectsBadConfigAndSizes() {
        assertThrows(IllegalArgumentException.class, () -> new AdamW.Config(1.0, 0.95, 1e-8, 0.1, false));
        assertThrows(IllegalArgumentException.class, () -> new AdamW.Config(0.9, 0.95, 0, 0.1, false));
        assertThrows(IllegalArgumentException.class, () -> new AdamW(AdamW.Config.deepseekV3(), 10, layout()));
        AdamW opt = new AdamW(AdamW.Config.deepseekV3(), 228, layout());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> opt.step(new float[228], new float[228], Double.NaN, 1));
        assertTrue(e.getMessage().contains("learning rate"));
    }

    @Test
    void layoutConstructorMatchesScalarReference() {
        ParamLayout pl = new ParamLayout();
        pl.add("w", true, 3, 4);
        pl.add("norm", true, 4);
        pl.add("bias", false, 2);
        float[] p = new float[pl.size()], g = new float[pl.size()];
        SplittableRandom r = new SplittableRandom(1);
        Fd.fillGaussian(p, 0, p.length, 1, r);
        double[] ref = Fd.toDouble(p), m = new double[p.length], v = new double[p.length];
        float[] biasBefore = java.util.Arrays.copyOfRange(p, 16, 18);
        AdamW opt = new AdamW(pl, 0.9f, 0.95f, 1e-8f, 0.1f);
        float[] lrs = {1e-2f, 3e-2f, 2e-2f, 5e-3f, 1e-2f};
        for (int t = 1; t <= lrs.length; t++) {
            Fd.fillGaussian(g, 0, g.length, t == 3 ? 1e-3 : 1, r);
            opt.step(p, g, lrs[t - 1]);
            for (int i = 0; i < 16; i++) {
                double lr = lrs[t - 1];
                if (i < 12) ref[i] *= 1 - lr * 0.1;
                m[i] = 0.9 * m[i] + 0.1 * g[i];
                v[i] = 0.95 * v[i] + 0.05 * g[i] * (double) g[i];
                double mh = m[i] / (1 - Math.pow(0.9, t)), vh = v[i] / (1 - Math.pow(0.95, t));
                ref[i] -= lr * mh / (Math.sqrt(vh) + 1e-8);
            }
            for (int i = 0; i < 16; i++) assertEquals(ref[i], p[i], 2e-6 * (1 + Math.abs(ref[i])), "step " + t + " element " + i);
        }
        assertArrayEquals(biasBefore, java.util.Arrays.copyOfRange(p, 16, 18), "non-trainable tensors are not updated");
        assertEquals(5, opt.steps());
    }

    @Test
    void tinyModelLearnsAFixedBatch() {
        var c = Harness.tinyMoe();
        int B = 2, T = 8;
        TrainModel model = new TrainModel(c, B, T);
        model.initRandom(7, 0.1f);
        int[] tok = new int[B * T], tg = new int[B * T];
        for (int i = 0; i < tok.length; i++) { tok[i] = (3 * i + 1) % c.vocabSize(); tg[i] = (3 * i + 4) % c.vocabSize(); }
        AdamW opt = AdamW.deepSeekV3(model.layout(), 1e-8f);
        var tensors = TrainTensor.fromLayout(model.layout());
        float first = 0, last = 0;
        for (int step = 0; step < 30; step++) {
            model.zeroGrad();
            last = model.forwardBackward(tok, tg, B, T);
            if (step == 0) first = last;
            GradClip.clip(model.grads(), tensors, 1.0);
            opt.step(model.params(), model.grads(), 1e-2f);
            model.updateBias(1e-3f);
        }
        System.out.printf("tiny model loss %.4f -> %.4f after 30 AdamW steps%n", first, last);
        assertTrue(last < 0.5 * first, "loss " + first + " -> " + last);
    }
}
