package dev.jseek.bench;

import dev.jseek.kernels.Gemm;
import dev.jseek.kernels.Parallel;
import dev.jseek.tensor.DType;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;
import dev.jseek.tensor.Matrix;

/**
 * Decode GEMV throughput per weight type (docs/quantization.md): {@code Gemm.linear} with 1 token (and a few) over
 * weights of each type in native memory, as a mapped GGUF holds them, in two regimes: "streaming" (many matrices,
 * {@code streamMiB} of weight bytes in all, far larger than the caches: the memory-bound decode case) and "cached"
 * (one matrix that stays in L2: the kernel's own arithmetic rate). Prints weights/s (weight elements read per
 * second, whatever m) and bytes/s, best of {@code rounds} timed rounds after a warm-up, and the streaming bytes/s as a
 * share of a memory triad ({@link MemoryTriad}) measured in the same process with the same threads. Block contents are random bytes with their fp16 scales set to 2^-8
 * (the speed does not depend on the values). {@code jseek bench quant-gemv} runs it.
 *
 * @param types     weight types to measure
 * @param rows      rows (output features) of each matrix
 * @param cols      columns (input features), a multiple of 256
 * @param tokens    token counts m to run (1 = decode)
 * @param streamMiB weight bytes of the streaming set per type
 * @param rounds    timed rounds (best counts)
 */
public record QuantGemvBench(DType[] types, int rows, int cols, int[] tokens, int streamMiB, int rounds) {
    public void run(PrintStream out) {
        out.printf("GEMV %dx%d per matrix, %d threads, vector %d bits; streaming: %d MiB of weights per type, cached: one matrix%n",
                rows, cols, Parallel.threads(), dev.jseek.kernels.Vec.LANES * 32, streamMiB);
        double triad = MemoryTriad.gbPerSecond(Math.max(64, streamMiB), 3);
        out.printf("memory triad (same threads, 3 arrays of %d MiB): %.2f GB/s%n", Math.max(64, streamMiB), triad);
        out.printf("%-6s %3s %14s %11s %8s %14s %11s %11s %11s%n", "type", "m", "stream Gw/s", "stream GB/s", "of triad", "cached Gw/s", "cached GB/s",
                "stream cpu", "cached cpu");
        SplittableRandom rnd = new SplittableRandom(1);
        for (DType t : types) {
            long mBytes = t.byteSize((long) rows * cols);
            int count = (int) Math.max(1, ((long) streamMiB << 20) / mBytes);
            try (Arena arena = Arena.ofShared()) {
                Matrix[] ws = new Matrix[count];
                for (int i = 0; i < count; i++) ws[i] = new Matrix(t, rows, cols, randomBlocks(arena, t, mBytes, rnd), null);
                for (int m : tokens) {
                    float[] x = new float[m * cols], y = new float[m * rows];
                    for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
                    int reps = Math.max(3, count);
                    double[] st = best(ws, x, y, m, 1), ca = best(new Matrix[] {ws[0]}, x, y, m, reps);
                    double stream = st[0], cached = ca[0];
                    double w = (double) rows * cols;
                    out.printf("%-6s %3d %14.2f %11.2f %7.0f%% %14.2f %11.2f %11.2f %11.2f%n", t, m, count * w / stream / 1e9, count * mBytes / stream / 1e9,
                            100 * count * mBytes / stream / 1e9 / triad, reps * w / cached / 1e9, reps * mBytes / cached / 1e9,
                            count * w / st[1] / 1e9, reps * w / ca[1] / 1e9);
                }
            }
        }
        out.printf("memory triad again at the end: %.2f GB/s (the %% column uses the first)%n", MemoryTriad.gbPerSecond(Math.max(64, streamMiB), 3));
    }

    private static final java.lang.management.ThreadMXBean MX = java.lang.management.ManagementFactory.getThreadMXBean();

    /**
     * Best wall-clock seconds and best calling-thread CPU seconds of one pass over ws (each matrix {@code reps} times
     * for a single matrix), after a warm-up. With one pool thread the CPU time is the work itself, robust to other
     * jobs' load (the "cpu" columns: Gweights/s by it).
     */
    private double[] best(Matrix[] ws, float[] x, float[] y, int m, int reps) {
        int passes = ws.length == 1 ? reps : 1;
        for (int w = 0; w < 3; w++) pass(ws, x, y, m, passes);
        double best = Double.MAX_VALUE, cpu = Double.MAX_VALUE;
        for (int r = 0; r < rounds; r++) {
            long c0 = MX.getCurrentThreadCpuTime(), t0 = System.nanoTime();
            pass(ws, x, y, m, passes);
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
            cpu = Math.min(cpu, (MX.getCurrentThreadCpuTime() - c0) / 1e9);
        }
        return new double[] {best, cpu};
    }

    private static void pass(Matrix[] ws, float[] x, float[] y, int m, int passes) {
        for (int p = 0; p < passes; p++) for (Matrix w : ws) Gemm.linear(y, 0, x, 0, m, w, false);
    }

    /** Random block bytes with every fp16 scale field set to 2^-8 (no NaN, no subnormal). */
    static MemorySegment randomBlocks(Arena arena, DType t, long bytes, SplittableRandom rnd) {
        MemorySegment s = arena.allocate(bytes, 64);
        byte[] chunk = new byte[1 << 16];
        for (long p = 0; p < bytes; p += chunk.length) {
            rnd.nextBytes(chunk);
            MemorySegment.copy(chunk, 0, s, ValueLayout.JAVA_BYTE, p, (int) Math.min(chunk.length, bytes - p));
        }
        short scale = Float.floatToFloat16(0x1p-8f);
        ValueLayout.OfShort h = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
        int[] fields = switch (t) {
            case Q8_0 -> new int[] {0};
            case Q4_K, Q5_K -> new int[] {0, 2};
            case Q6_K -> new int[] {208};
            case BF16 -> null;
            case F16 -> null;
            default -> null;
        };
        if (fields != null)
            for (long p = 0; p < bytes; p += t.blockBytes) for (int f : fields) s.set(h, p + f, scale);
        else if (t == DType.BF16 || t == DType.F16) {
            for (long p = 0; p < bytes; p += 2) s.set(h, p, t == DType.BF16 ? (short) (0x3C00 | (s.get(h, p) & 0x807F)) : (short) (0x3000 | (s.get(h, p) & 0x83FF)));
        } else if (t == DType.F32) {
            for (long p = 0; p < bytes; p += 4) s.set(ValueLayout.JAVA_FLOAT_UNALIGNED, p, (float) rnd.nextGaussian());
        }
        return s;
    }
}
