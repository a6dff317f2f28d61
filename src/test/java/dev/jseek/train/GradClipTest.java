package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class GradClipTest {
    @Test
    void normAndClipMatchDoubleReference() {
        List<TrainTensor> ts = AdamWTest.layout();
        SplittableRandom r = new SplittableRandom(1);
        float[] g = new float[228];
        for (int i = 0; i < g.length; i++) g[i] = (float) r.nextGaussian();
        double ref = 0;
        for (int i = 0; i < g.length; i++) if (i < 144 || i >= 148) ref += (double) g[i] * g[i]; // frozen bias excluded
        ref = Math.sqrt(ref);
        assertEquals(ref, GradClip.globalNorm(g, ts), 1e-12 * ref);
        float[] c = g.clone();
        double pre = GradClip.clip(c, ts, 1.0);
        assertEquals(ref, pre, 1e-12 * ref);
        assertEquals(1.0 / (1 + 1e-6 / ref), GradClip.globalNorm(c, ts), 1e-6);
        assertEquals(g[145], c[145], 0f, "frozen tensor untouched");
        float[] d = g.clone();
        assertEquals(ref, GradClip.clip(d, ts, 1e9));
        assertArrayEquals(g, d, "no clipping below the max norm");
        assertEquals(1.0, GradClip.coefficient(5, 0), "max norm <= 0 disables clipping");
        g[3] = Float.NaN;
        assertTrue(Double.isNaN(GradClip.globalNorm(g, ts)));
        g[3] = Float.POSITIVE_INFINITY;
        assertTrue(Double.isInfinite(GradClip.globalNorm(g, ts)));
    }

    @Test
    void layoutClipSkipsFrozenTensorsWithTorchCoefficient() {
        ParamLayout pl = new ParamLayout();
        pl.add("a", true, 2, 2);
        pl.add("b", false, 2);
        float[] g = {3, 0, 0, 4, 100, 100};
        @SuppressWarnings("deprecation") double norm = AdamW.clipGradNorm(pl, g, 1.0);
        assertEquals(5.0, norm, 1e-12);
        float c = (float) (1.0 / (5.0 + 1e-6)); // torch.nn.utils.clip_grad_norm_: max_norm / (norm + 1e-6)
        assertArrayEquals(new float[] {3 * c, 0, 0, 4 * c, 100, 100}, g, 0f);
        float[] before = g.clone();
        assertEquals(1.0, GradClip.clip(g, TrainTensor.fromLayout(pl), 2.0), 1e-6);
        assertArrayEquals(before, g, 0f, "norm below the maximum: unchanged");
    }
}
