package dev.jseek.model;

import dev.jseek.fp8.Fp8Weights;
import dev.jseek.io.SafetensorsWriter;
import dev.jseek.tensor.DType;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Writes a randomly initialized model directory (config.json + safetensors in the HF layout of {@link TensorSchema}).
 * Every weight matrix is N(0, std^2) (the report's std is 0.006, docs/architecture.md §7.1), norm weights 1, router biases 0; the
 * MTP module's embedding/head copies equal the main ones, as in the official release. Each tensor's values come
 * from a generator seeded by (seed, tensor name), so a seed fixes the whole model regardless of tensor order.
 *
 * <p>{@code dtype} F32 or BF16 stores every tensor in it; F8_E4M3 stores the Linear weights the official checkpoint
 * quantizes as FP8 with 128x128 block scales and the rest as BF16 (the release format, docs/architecture.md §2.3).
 */
public final class RandomInit {
    private RandomInit() {}

    /** Largest checkpoint init will build in memory. */
    public static final long MAX_BYTES = 8L << 30;

    public static List<Path> write(ModelConfig config, Path dir, long seed, double std, DType dtype) {
        if (dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.F8_E4M3)
            throw new IllegalArgumentException("init dtype must be F32, BF16 or F8_E4M3, got " + dtype);
        TensorSchema layout = new TensorSchema(config);
        long bytes = 0;
        for (TensorSchema.Tensor t : layout.tensors()) bytes += t.elements() * (dtype == DType.F32 ? 4 : 2);
        if (bytes > MAX_BYTES)
            throw new IllegalArgumentException("this config's checkpoint is about " + (bytes >> 30) + " GiB; init builds models of at most "
                    + (MAX_BYTES >> 30) + " GiB in memory (use a smaller preset or config)");
        ModelConfig stored = ConfigEdits.withFp8Quantization(config, dtype == DType.F8_E4M3);
        SafetensorsWriter w = new SafetensorsWriter();
        w.metadata("format", "pt").metadata("jseek.seed", Long.toString(seed)).metadata("jseek.init_std", Double.toString(std));
        Map<TensorSchema.Slot, float[]> mains = new java.util.EnumMap<>(TensorSchema.Slot.class);
        for (TensorSchema.Tensor t : layout.tensors()) {
            float[] v;
            if (t.kind() == TensorSchema.Kind.MTP_COPY) {
                v = mains.get(t.slot().copyOf());
            } else {
                v = values(t, seed, std);
                if (t.kind() == TensorSchema.Kind.EMBEDDING || t.kind() == TensorSchema.Kind.HEAD) mains.put(t.slot(), v);
            }
            DType d = dtype == DType.F8_E4M3 ? (t.kind().fp8InRelease() ? DType.F8_E4M3 : DType.BF16) : dtype;
            if (t.kind() == TensorSchema.Kind.ROUTER_BIAS) d = DType.F32; // the release keeps the bias in FP32
            if (d == DType.F8_E4M3) Fp8Weights.add(w, t.name(), v, t.shape());
            else w.addFloats(t.name(), d, v, t.shape());
        }
        List<Path> files = w.writeCheckpoint(dir, 4L << 30);
        stored.save(dir.resolve("config.json"));
        return files;
    }

    private static float[] values(TensorSchema.Tensor t, long seed, double std) {
        long n = t.elements();
        if (n > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("tensor " + t.name() + " is too large to init in memory");
        float[] v = new float[(int) n];
        switch (t.kind()) {
            case NORM -> java.util.Arrays.fill(v, 1f);
            case ROUTER_BIAS -> { }
            default -> {
                SplittableRandom r = new SplittableRandom(seed ^ (t.name().hashCode() * 0x9E3779B97F4A7C15L));
                for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextGaussian() * std);
            }
        }
        return v;
    }
}
