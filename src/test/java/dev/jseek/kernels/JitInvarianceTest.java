package dev.jseek.kernels;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.tensor.Matrix;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * The inference kernels give the same bits for the same input whatever the JIT has done in between: the first call
 * (interpreted, when this class runs first in its JVM) equals the call after thousands of repetitions (C2). Oracle:
 * the kernel's own first result. Before {@link Vec#sum} and {@link Exp}, Gemv, rmsNorm and softmax changed their last
 * bits after a few hundred to a thousand calls (reduceLanes(ADD) and lanewise(EXP) under C2).
 */
class JitInvarianceTest {
    private static long bits(float[] a) {
        long h = 1;
        for (float f : a) h = h * 1_000_003 + Float.floatToIntBits(f);
        return h;
    }

    @Test
    void sameBitsColdAndCompiled() {
        Random r = new Random(3);
        float[] x = TestWeights.randn(r, 4000), w = TestWeights.randn(r, 200 * 160);
        for (int i = 0; i < x.length; i++) x[i] *= 3;
        Matrix mf = Matrix.ofF32(w, 200, 160);
        Map<String, Supplier<Long>> k = new LinkedHashMap<>();
        k.put("rmsNorm", () -> { float[] o = new float[997]; Ops.rmsNorm(o, 0, x, 0, w, 997, 1e-6f); return bits(o); });
        k.put("softmax", () -> { float[] o = Arrays.copyOf(x, 251); Ops.softmax(o, 0, 251); return bits(o); });
        k.put("swiglu", () -> { float[] o = new float[999]; Ops.swiglu(o, 0, x, 0, w, 0, 999); return bits(o); });
        k.put("dot", () -> (long) Float.floatToIntBits(Ops.dot(x, 0, w, 0, 999)));
        for (int m = 1; m <= 3; m++) {
            int mm = m;
            k.put("linear m=" + m, () -> { float[] g = new float[200 * mm]; Gemm.linear(g, 0, x, 0, mm, mf, false); return bits(g); });
        }
        Matrix mb = TestWeights.random(dev.jseek.tensor.DType.BF16, 36, 160, r, true);         // HalfGemv, mapped-file path
        for (int m : new int[] {1, 5}) k.put("linear bf16 m=" + m, () -> { float[] g = new float[36 * m]; Gemm.linear(g, 0, x, 0, m, mb, false); return bits(g); });
        Map<String, Long> first = new LinkedHashMap<>();
        k.forEach((name, f) -> first.put(name, f.get()));
        for (int it = 0; it < 2500; it++)
            for (var e : k.entrySet()) assertEquals(first.get(e.getKey()), e.getValue().get(), e.getKey() + " changed at call " + (it + 2));
    }
}
