package dev.jseek.cli;

import dev.jseek.fp8.Fp8Gemm;
import dev.jseek.fp8.Fp8Tensor;
import dev.jseek.fp8.GemmError;
import dev.jseek.fp8.LimitedAccumulator;
import dev.jseek.fp8.ScaleFormat;
import dev.jseek.fp8.TileQuantizer;
import dev.jseek.kernels.Gemm;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jseek bench fp8-gemm}: accuracy and speed of the emulated FP8 GEMM (report §3.3.2). For each K, random
 * normal operands A[M, K] (1x128 tiles) and B[N, K] (128x128 blocks) with a fixed seed are quantized; the promoted FP8
 * GEMM, the same with a limited accumulator inside each 128-group, and the limited accumulator without promotion are
 * compared with the F64 product of the dequantized operands; then the promoted FP8 GEMM is timed against
 * {@link Gemm#sgemm} on the dequantized F32 operands of the same shape.
 */
@Command(name = "fp8-gemm", mixinStandardHelpOptions = true,
        description = "FP8 GEMM: error with and without promotion vs F64, and GFLOP/s of the emulation vs F32 sgemm.")
public final class BenchFp8GemmCommand implements Callable<Integer> {
    @Option(names = "--m", defaultValue = "256", description = "Rows of A (tokens). Default ${DEFAULT-VALUE}.") int m;
    @Option(names = "--n", defaultValue = "256", description = "Rows of B (output features). Default ${DEFAULT-VALUE}.") int n;
    @Option(names = "--k", split = ",", defaultValue = "512,1024,2048,4096,7168", description = "Reduction sizes. Default ${DEFAULT-VALUE}.") int[] ks;
    @Option(names = "--seed", defaultValue = "42", description = "Random seed. Default ${DEFAULT-VALUE}.") long seed;
    @Option(names = "--acc-bits", defaultValue = "14", description = "Significant bits of the limited accumulator. Default ${DEFAULT-VALUE}.") int bits;
    @Option(names = "--acc-chunk", defaultValue = "32", description = "Products per limited-accumulator update (divides 128). Default ${DEFAULT-VALUE}.") int chunk;
    @Option(names = "--acc-rounding", defaultValue = "TOWARD_ZERO", description = "NEAREST_EVEN or TOWARD_ZERO. Default ${DEFAULT-VALUE}.")
    LimitedAccumulator.Rounding rounding;
    @Option(names = "--reps", defaultValue = "3", description = "Timed repetitions (median reported), after >= 1 s of warm-up. Default ${DEFAULT-VALUE}.") int reps;
    @Option(names = "--no-speed", description = "Skip the timing.") boolean noSpeed;

    @Override public Integer call() {
        if (m < 1 || n < 1 || m > 16384 || n > 16384) throw new UserException("--m/--n must be in 1..16384, got " + m + ", " + n);
        for (int k : ks) if (k < 1 || k > 65536) throw new UserException("--k: each value must be in 1..65536, got " + k);
        if (reps < 1) throw new UserException("--reps must be >= 1, got " + reps);
        LimitedAccumulator acc;
        try {
            acc = new LimitedAccumulator(bits, chunk, rounding);
        } catch (IllegalArgumentException e) {
            throw new UserException("--acc-bits/--acc-chunk: " + e.getMessage());
        }
        System.out.printf("FP8 E4M3 GEMM C[%d, N=%d] = A[%d, K] B[N, K]^T; A in 1x128 tiles, B in 128x128 blocks (FP32 scales), N(0,1) operands, seed %d%n",
                m, n, m, seed);
        System.out.printf("relative error per element = |C - R| / max(|R|, rms(R)), R = F64 product of the dequantized operands%n");
        System.out.printf("limited accumulator: %d significant bits, updated every %d products, %s%n", bits, chunk, rounding);
        System.out.printf("%6s  %-21s  %-21s  %-21s%n", "K", "promoted FP32 max/mean", "limited+promote", "limited, no promotion");
        for (int k : ks) {
            Fp8Tensor[] q = operands(k);
            double[] ref = Fp8Gemm.referenceF64(q[0], q[1]);
            GemmError p = GemmError.of(Fp8Gemm.gemm(q[0], q[1]), ref);
            GemmError lp = GemmError.of(Fp8Gemm.limited(q[0], q[1], acc, true), ref);
            GemmError l = GemmError.of(Fp8Gemm.limited(q[0], q[1], acc, false), ref);
            System.out.printf("%6d  %9.2e / %9.2e  %9.2e / %9.2e  %9.2e / %9.2e%n", k, p.maxRel(), p.meanRel(), lp.maxRel(), lp.meanRel(), l.maxRel(), l.meanRel());
        }
        if (noSpeed) return 0;
        System.out.printf("%nspeed (median of %d after >= 1 s of warm-up; %d threads available). The FP8 GEMM is an emulation: F32 FMAs on%n"
                + "decoded FP8 values plus the decode and one promotion FMA per 128 products, so on a CPU it can at best match an F32 GEMM%n"
                + "of the same blocking. The peer is dev.jseek.kernels.Gemm.sgemm of this build on the dequantized F32 operands.%n",
                reps, Runtime.getRuntime().availableProcessors());
        System.out.printf("%6s  %14s  %14s%n", "K", "FP8 emu GFLOP/s", "F32 sgemm GFLOP/s");
        for (int k : ks) {
            Fp8Tensor[] q = operands(k);
            float[] a32 = q[0].dequantize(), b32 = q[1].dequantize(), c = new float[m * n];
            double flop = 2.0 * m * n * k;
            double fp8 = flop / 1e9 / time(() -> Fp8Gemm.gemm(q[0], q[1], c, false));
            double f32 = flop / 1e9 / time(() -> Gemm.sgemm(false, true, m, n, k, 1f, a32, 0, k, b32, 0, k, 0f, c, 0, n));
            System.out.printf("%6d  %14.2f  %14.2f%n", k, fp8, f32);
        }
        return 0;
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
