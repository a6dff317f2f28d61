package dev.jseek.bench;

import dev.jseek.fp8.Fp8Gemm;
import dev.jseek.fp8.Fp8Tensor;
import dev.jseek.fp8.GemmError;
import dev.jseek.fp8.LimitedAccumulator;
import dev.jseek.fp8.ScaleFormat;
import dev.jseek.fp8.TileQuantizer;
import dev.jseek.kernels.Gemm;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Accuracy and speed of the emulated FP8 GEMM (report §3.3.2). For each K, random normal operands A[M, K] (1x128
 * tiles) and B[N, K] (128x128 blocks) with a fixed seed are quantized; the promoted FP8 GEMM, the same with a limited
 * accumulator inside each 128-group, and the limited accumulator without promotion are compared with the F64 product
 * of the dequantized operands; then the promoted FP8 GEMM is timed against {@link Gemm#sgemm} on the dequantized F32
 * operands of the same shape. {@code jseek bench fp8-gemm} runs it.
 *
 * @param acc   the limited accumulator (bits, chunk, rounding)
 * @param reps  timed repetitions (median reported) after at least 1 s of warm-up
 */
public record Fp8GemmBench(int m, int n, int[] ks, long seed, LimitedAccumulator acc, int bits, int chunk,
                           LimitedAccumulator.Rounding rounding, int reps, boolean noSpeed) {
    /** Prints the error table and (unless noSpeed) the speed table to {@code out}. */
    public void run(PrintStream out) {
        out.printf("FP8 E4M3 GEMM C[%d, N=%d] = A[%d, K] B[N, K]^T; A in 1x128 tiles, B in 128x128 blocks (FP32 scales), N(0,1) operands, seed %d%n",
                m, n, m, seed);
        out.printf("relative error per element = |C - R| / max(|R|, rms(R)), R = F64 product of the dequantized operands%n");
        out.printf("limited accumulator: %d significant bits, updated every %d products, %s%n", bits, chunk, rounding);
        out.printf("%6s  %-21s  %-21s  %-21s%n", "K", "promoted FP32 max/mean", "limited+promote", "limited, no promotion");
        for (int k : ks) {
            Fp8Tensor[] q = operands(k);
            double[] ref = Fp8Gemm.referenceF64(q[0], q[1]);
            GemmError p = GemmError.of(Fp8Gemm.gemm(q[0], q[1]), ref);
            GemmError lp = GemmError.of(Fp8Gemm.limited(q[0], q[1], acc, true), ref);
            GemmError l = GemmError.of(Fp8Gemm.limited(q[0], q[1], acc, false), ref);
            out.printf("%6d  %9.2e / %9.2e  %9.2e / %9.2e  %9.2e / %9.2e%n", k, p.maxRel(), p.meanRel(), lp.maxRel(), lp.meanRel(), l.maxRel(), l.meanRel());
        }
        if (noSpeed) return;
        out.printf("%nspeed (median of %d after >= 1 s of warm-up; %d threads available). The FP8 GEMM is an emulation: F32 FMAs on%n"
                + "decoded FP8 values plus the decode and one promotion FMA per 128 products, so on a CPU it can at best match an F32 GEMM%n"
                + "of the same blocking. The peer is dev.jseek.kernels.Gemm.sgemm of this build on the dequantized F32 operands.%n",
                reps, Runtime.getRuntime().availableProcessors());
        out.printf("%6s  %14s  %14s%n", "K", "FP8 emu GFLOP/s", "F32 sgemm GFLOP/s");
        for (int k : ks) {
            Fp8Tensor[] q = operands(k);
            float[] a32 = q[0].dequantize(), b32 = q[1].dequantize(), c = new float[m * n];
            double flop = 2.0 * m * n * k;
            double fp8 = flop / 1e9 / time(() -> Fp8Gemm.gemm(q[0], q[1], c, false));
            double f32 = flop / 1e9 / time(() -> Gemm.sgemm(false, true, m, n, k, 1f, a32, 0, k, b32, 0, k, 0f, c, 0, n));
            out.printf("%6d  %14.2f  %14.2f%n", k, fp8, f32);
        }
    }

    private Fp8Tensor[] operands(int k) {
        SplittableRandom r = new SplittableRandom(seed + k);
        float[] a = new float[m * k], b = new float[n * k];
        for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
        for (int i = 0; i < b.length; i++) b[i] = (float) r.nextGaussian();
        return new Fp8Tensor[] {TileQuantizer.activation(a, m, k, ScaleFormat.FP32), TileQuantizer.weight(b, n, k, ScaleFormat.FP32)};
    }

    /** Median seconds of {@link #reps} runs after warm-up runs (at least 3, and at least 1 s, so the JIT has compiled the kernel). */
    private double time(Runnable body) {
        long w0 = System.nanoTime();
        for (int i = 0; i < 3 || System.nanoTime() - w0 < 1_000_000_000L; i++) body.run();
        double[] t = new double[reps];
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            body.run();
            t[i] = (System.nanoTime() - t0) / 1e9;
        }
        Arrays.sort(t);
        return t[reps / 2];
    }
}
