package dev.jseek.model;

import dev.jseek.io.Checkpoint;
import dev.jseek.io.FormatException;
import dev.jseek.io.TensorInfo;
import dev.jseek.kernels.NonFinite;
import dev.jseek.tensor.DType;
import java.lang.foreign.MemorySegment;

/**
 * The load-time check that a checkpoint's weights are finite (safetensors, and GGUF through
 * {@code dev.jseek.gguf.GgufModel}, whose block types are checked by their scale fields): one pass over every tensor
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
            check(t.file(), name, t.dtype(), t.shape(), ck.segment(name));
        }
    }

    /**
     * One tensor's bytes {@code data} of element type {@code t} and row-major {@code shape}, in {@code file}: throws
     * {@link FormatException} naming the file, tensor and element of the first non-finite value; for ggml's block
     * types (GGUF) the block whose F16 scale is NaN or infinite, by its first element.
     */
    public static void check(java.nio.file.Path file, String name, DType t, long[] shape, MemorySegment data) {
        long i = NonFinite.first(data, t);
        if (i < 0) return;
        String where = t.isBlock() ? "a non-finite scale (NaN or infinity) in the " + t + " block starting at " + index(i, shape)
                : "a non-finite value (NaN or infinity) at " + index(i, shape);
        throw new FormatException(file + ": tensor '" + name + "' (" + t + " " + java.util.Arrays.toString(shape) + ") holds " + where
                + "; the weights are corrupt (-Djseek.checkWeights=false loads them anyway)");
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
