package dev.jseek.model;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class RopeTest {
    @Test
    void yarnTableOf671BConfig() {
        Rope r = new Rope(ModelConfigTest.v3());
        assertArrayEquals(new int[] {10, 23}, r.correctionRange());
        assertEquals(1f, r.attentionFactor());
        float[] f = r.invFreq();
        assertEquals(32, f.length);
        for (int i = 0; i < 32; i++) {
            double base = Math.pow(10000, -2.0 * i / 64);
            double want = i <= 10 ? 1 : i <= 22 ? 1 - 0.075 * (i - 10) : 0.025;   // docs/architecture.md §4.2 (demo run)
            assertEquals(want, f[i] / base, 2e-6, "f'_" + i + "/f_" + i);
        }
    }

    @Test
    void correctionDimsOfSpec() {
        assertEquals(10.472, Rope.correctionDim(32, 64, 10000, 4096), 5e-4);
        assertEquals(22.513, Rope.correctionDim(1, 64, 10000, 4096), 5e-4);
        assertEquals(1.3688879, Rope.yarnMscale(40, 1), 5e-8);
    }

    @Test
    void anglesAreFloat32ProductsOfPositionAndFrequency() {
        Rope r = new Rope(ModelConfigTest.v3());
        float[] f = r.invFreq();
        int start = 100_000, n = 3;
        float[] cos = new float[n * 32], sin = new float[n * 32];
        r.table(start, n, cos, sin);
        for (int t = 0; t < n; t++)
            for (int i = 0; i < 32; i++) {
                float angle = (float) (start + t) * f[i];                      // float32(p * float32 f'_i), docs/architecture.md §4.2
                assertEquals((float) Math.cos(angle), cos[t * 32 + i], 0f, "cos p=" + (start + t) + " i=" + i);
                assertEquals((float) Math.sin(angle), sin[t * 32 + i], 0f);
            }
        // The float32 rounding of the angle matters at this position (docs/architecture.md §4.2): a double angle differs.
        int differ = 0;
        for (int i = 0; i < 32; i++) if ((float) Math.cos((double) start * f[i]) != cos[i]) differ++;
        assertTrue(differ > 0);
    }

    @Test
    void plainRopeWithoutScaling() {
        ModelConfig c = ModelConfigTest.edit(o -> o.putNull("rope_scaling"));
        Rope r = new Rope(c);
        assertArrayEquals(new int[] {-1, -1}, r.correctionRange());
        float[] f = r.invFreq();
        for (int i = 0; i < 32; i++) assertEquals(Math.pow(10000, -2.0 * i / 64), f[i], 1e-6 * f[i]);
        float[] cos = new float[32], sin = new float[32];
        r.table(0, 1, cos, sin);
        for (int i = 0; i < 32; i++) { assertEquals(1f, cos[i]); assertEquals(0f, sin[i]); }
    }

    @Test
    void hfAttentionFactorWhenMscalesDiffer() {
        // HF: attention_factor = mscale(s, mscale) / mscale(s, mscale_all_dim); softmax gets mscale(s, all_dim)^2.
        ModelConfig c = ModelConfigTest.edit(o -> ((com.fasterxml.jackson.databind.node.ObjectNode) o.get("rope_scaling"))
                .put("mscale", 0.707).put("mscale_all_dim", 0.5));
        Rope r = new Rope(c);
        double s = 40;
        assertEquals((0.1 * 0.707 * Math.log(s) + 1) / (0.1 * 0.5 * Math.log(s) + 1), r.attentionFactor(), 1e-6);
        double m = 0.1 * 0.5 * Math.log(s) + 1;
        assertEquals(m * m / Math.sqrt(192), c.softmaxScale(), 1e-12);
        float[] cos = new float[32], sin = new float[32];
        r.table(0, 1, cos, sin);
        assertEquals(r.attentionFactor(), cos[5], 0f);
    }
}
