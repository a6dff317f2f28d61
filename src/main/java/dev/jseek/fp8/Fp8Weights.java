package dev.jseek.fp8;

import dev.jseek.io.Checkpoint;
import dev.jseek.io.SafetensorsWriter;
import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import java.util.Arrays;

/**
 * Weights in the FP8 release format (docs/architecture.md §2.3): a [rows, cols] matrix quantized to E4M3 in 128 x 128
 * blocks by {@link TileQuantizer#weight} with FP32 scales, stored as {@code name} (F8_E4M3) plus
 * {@code name_scale_inv} (F32 [ceil(rows/128), ceil(cols/128)], a multiplier despite the name).
 */
public final class Fp8Weights {
    private Fp8Weights() {}

    /** Quantizes {@code values} (row-major, {@code shape} = [rows, cols]) and adds the codes and their scales to {@code w}. */
    public static SafetensorsWriter add(SafetensorsWriter w, String name, float[] values, long... shape) {
        if (shape.length != 2)
            throw new IllegalArgumentException("F8_E4M3 tensor '" + name + "' needs a 2-D shape for block scales, got " + Arrays.toString(shape));
        if (shape[0] * shape[1] != values.length)
            throw new IllegalArgumentException("tensor '" + name + "' shape " + Arrays.toString(shape) + " has " + shape[0] * shape[1]
                    + " elements, got " + values.length);
        int rows = Math.toIntExact(shape[0]), cols = Math.toIntExact(shape[1]);
        Fp8Tensor q = TileQuantizer.weight(values, 0, rows, cols, ScaleFormat.FP32);
        w.add(name, DType.F8_E4M3, shape, q.codes());
        return w.addFloats(Checkpoint.scaleName(name), DType.F32, q.scales(), Matrix.scaleRows(rows), Matrix.scaleCols(cols));
    }
}
