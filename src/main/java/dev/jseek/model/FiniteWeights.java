package dev.jseek.model;

import dev.jseek.io.Checkpoint;
import dev.jseek.io.FormatException;
import dev.jseek.io.TensorInfo;
import dev.jseek.kernels.NonFinite;

/**
 * The load-time check that a checkpoint's weights are finite: one vectorized pass over every floating-point tensor
 * ({@link NonFinite}), so that NaN or infinity in a file is a one-line error naming the tensor and the element
 * rather than NaN logits later. System property {@code jseek.checkWeights=false} skips it (a 671B checkpoint is
 * then not read whole at load).
 */
public final class FiniteWeights {
    private FiniteWeights() {}

    /** Whether {@link #check} runs at load ({@code jseek.checkWeights}, default true). */
    public static boolean enabled() { return !"false".equalsIgnoreCase(System.getProperty("jseek.checkWeights", "true")); }

    /** Throws {@link FormatException} naming the file, tensor and element of the first non-finite weight. */
    public static void check(Checkpoint ck) {
        for (String name : ck.names()) {
            TensorInfo t = ck.info(name);
            long i = NonFinite.first(ck.segment(name), t.dtype());
            if (i >= 0)
                throw new FormatException(t.file() + ": tensor '" + name + "' (" + t.dtype() + " " + java.util.Arrays.toString(t.shape())
                        + ") holds a non-finite value (NaN or infinity) at " + index(i, t.shape()) + "; the weights are corrupt "
                        + "(-Djseek.checkWeights=false loads them anyway)");
        }
    }

    /** Element {@code i} of a row-major tensor as {@code [a, b, ...]}. */
    static String index(long i, long[] shape) {
        long[] ix = new long[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            ix[d] = shape[d] == 0 ? 0 : i % shape[d];
            i = shape[d] == 0 ? 0 : i / shape[d];
        }
        return java.util.Arrays.toString(ix);
    }
}
