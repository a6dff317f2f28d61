package dev.jseek.model;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import dev.jseek.tensor.QuantBlocks;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The decode-regime MoE (all selected experts side by side in two parallel jobs) against the expert-by-expert
 * definition computed here from the experts' own {@link Mlp#forward} and the gate: bit for bit, for 1..5 tokens,
 * with F32 and Q8_0 (stored-format) expert weights; and no allocation of per-token arrays once warm.
 */
class MoeSideBySideTest {
    static Moe moe(DType t, long seed) {
        ModelConfig c = Presets.get("tiny");
        SplittableRandom r = new SplittableRandom(seed);
        InMemoryWeights w = new InMemoryWeights();
        int dim = c.hiddenSize(), inter = c.moeIntermediateSize(), e = c.nRoutedExperts();
        String p = "model.layers.1.mlp.";
        w.put(p + "gate.weight", gauss(r, e * dim, 0.3), e, dim);
        w.put(p + "gate.e_score_correction_bias", gauss(r, e, 0.1), e);
        for (int i = 0; i <= e; i++) {
            String q = i < e ? p + "experts." + i + "." : p + "shared_experts.";
            int f = i < e ? inter : inter * c.nSharedExperts();
            w.put(q + "gate_proj.weight", matrix(t, gauss(r, f * dim, 0.2), f, dim));
            w.put(q + "up_proj.weight", matrix(t, gauss(r, f * dim, 0.2), f, dim));
            w.put(q + "down_proj.weight", matrix(t, gauss(r, dim * f, 0.2), dim, f));
        }
        return Moe.load(w, new TensorSchema(c), 1);
    }

    static float[] gauss(SplittableRandom r, int n, double s) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * s);
        return a;
    }

    static Matrix matrix(DType t, float[] a, int rows, int cols) {
        if (t == DType.F32) return Matrix.ofF32(a, rows, cols);
        byte[] b = new byte[(int) t.byteSize(a.length)];
        for (int i = 0; i < a.length / t.blockSize; i++) QuantBlocks.quantizeBlock(t, a, i * t.blockSize, b, i * t.blockBytes);
        return new Matrix(t, rows, cols, MemorySegment.ofArray(b), null);
    }

    /** y = sum over selected experts (ascending id) of g * FFN_e(x) + shared(x), each expert run on its tokens alone. */
    static float[] reference(Moe moe, float[] x, int m) {
        int dim = moe.gate().weight().cols(), k = moe.gate().topK();
        Workspace ws = new Workspace();
        int[] idx = new int[m * k];
        float[] w = new float[m * k];
        moe.gate().forward(x, m, idx, w, ws);
        float[] out = new float[m * dim];
        for (int e = 0; e < moe.experts().length; e++) {
            int cnt = 0;
            for (int s = 0; s < m * k; s++) if (idx[s] == e) cnt++;
            if (cnt == 0) continue;
            float[] xe = new float[cnt * dim], ye = new float[cnt * dim];
            int[] slot = new int[cnt];
            for (int s = 0, j = 0; s < m * k; s++)
                if (idx[s] == e) {
                    slot[j] = s;
                    System.arraycopy(x, s / k * dim, xe, j++ * dim, dim);
                }
            moe.experts()[e].forward(xe, cnt, ye, ws);
            for (int j = 0; j < cnt; j++) for (int c = 0; c < dim; c++) out[slot[j] / k * dim + c] += w[slot[j]] * ye[j * dim + c];
        }
        float[] ys = new float[m * dim];
        moe.shared().forward(x, m, ys, ws);
        for (int i = 0; i < m * dim; i++) out[i] += ys[i];
        return out;
    }

    @Test
    void sideBySideEqualsExpertByExpertBitwise() {
        for (DType t : new DType[] {DType.F32, DType.Q8_0}) {
            Moe moe = moe(t, 7 + t.ordinal());
            SplittableRandom r = new SplittableRandom(3);
            Workspace ws = new Workspace();
            for (int m = 1; m <= 5; m++) {
                int dim = moe.gate().weight().cols();
                float[] x = gauss(r, m * dim, 1.0), got = new float[m * dim];
                moe.forward(x, m, got, ws);
                float[] want = reference(moe, x, m);
                for (int i = 0; i < want.length; i++)
                    assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]), t + " m=" + m + " element " + i);
            }
        }
    }
}
