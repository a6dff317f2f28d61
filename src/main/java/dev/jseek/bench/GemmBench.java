package dev.jseek.bench;

import dev.jseek.kernels.Gemm;
import dev.jseek.kernels.Parallel;
import dev.jseek.tensor.Bf16;
import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * jseek's F32 GEMM and Linear kernels against OpenBLAS {@code cblas_sgemm} (FFM) in the
 * same run, same thread count: square F32 products and the DeepSeek-V3 Linear shapes (report §3.3 test shapes) at
 * M = 1, 16 and 512 tokens, with jseek also on BF16 and FP8 E4M3 (128x128 block scales) weights. Prints the
 * median GFLOP/s of each, the ratio jseek/OpenBLAS, weight GB/s for the Linear cases, and the best GFLOP/s seen
 * (the machine's measured peak for MFU).
 * {@code jseek bench gemm} runs it.
 *
 * @param threads       threads of the jseek pool (already started with them) and of OpenBLAS
 * @param sizes         square F32 sizes
 * @param quick         M = 1 and 512 only for the model shapes
 * @param reps          timed repetitions per case (the median is reported)
 * @param cpuTime       time by the calling thread's CPU time (needs 1 thread)
 * @param openblasCore  auto, default or an OPENBLAS_CORETYPE name
 */
public record GemmBench(PrintStream out, int threads, int[] sizes, boolean quick, boolean noShapes, int reps, boolean cpuTime,
                        double warmupSeconds, String openblasPath, String openblasCore) {
    private static boolean cpuClock;
    private static final java.lang.management.ThreadMXBean MX = java.lang.management.ManagementFactory.getThreadMXBean();

    private static long now() {
        return cpuClock ? MX.getCurrentThreadCpuTime() : System.nanoTime();
    }
    /** The best GFLOP/s seen so far and its case. */
    private static final class Best {
        double gflops;
        String what = "";
    }

    /** Runs every case and prints the table and the measured peak. */
    public void run() {
        cpuClock = cpuTime;
        int t = threads, nReps = reps;
        int[] sq = sizes;
        Best best = new Best();
        String core = switch (openblasCore) {
            case "default" -> null;
            case "auto" -> System.getenv("OPENBLAS_CORETYPE") != null ? null : autoCore();
            default -> openblasCore;
        };
        OpenBlas blas = OpenBlas.load(openblasPath, core);
        out.println("jseek bench gemm");
        out.println("  cpu: " + cpuModel() + ", " + Runtime.getRuntime().availableProcessors() + " logical cpus; JDK "
                + Runtime.version() + "; vector " + jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize()
                + "-bit preferred, jseek uses " + vectorBits() + "-bit");
        out.println("  threads: " + t + " (jseek pool and OpenBLAS)");
        if (blas == null) {
            out.println("  OpenBLAS: NOT AVAILABLE - " + OpenBlas.lastError + "; printing jseek only");
        } else {
            blas.setThreads(t);
            settle(300);
            out.println("  OpenBLAS: " + blas.path + ", " + blas.config().trim() + ", kernels: " + blas.coreName()
                    + (core != null ? " (OPENBLAS_CORETYPE=" + core + " set by --openblas-core " + openblasCore + ")" : ""));
        }
        int warmCalls = jitWarmup(warmupSeconds);
        out.println("  JIT warm-up: " + warmCalls + " small products in " + warmupSeconds + " s (--warmup-seconds)");
        out.println("  load average at start: " + loadAvg());
        out.println("  timing: median of " + nReps + " runs after warm-up; GF/s = 2*M*N*K / time"
                + (cpuTime ? " (time = CPU time of the calling thread, not wall time)" : ""));
        out.println();
        out.printf("%-22s %6s %6s %6s %-8s %11s %14s %7s %11s%n", "case", "M", "N", "K", "weights", "jseek GF/s", "OpenBLAS GF/s", "ratio", "jseek GB/s");

        for (int s : sq) square(blas, s, nReps, best);
        if (!noShapes) {
            int[][] kn = {{7168, 2112}, {1536, 24576}, {16384, 7168}, {2048, 7168}};
            int[] ms = quick ? new int[] {1, 512} : new int[] {1, 16, 512};
            for (int[] shape : kn) linearShapes(blas, shape[0], shape[1], ms, nReps, best);
        }
        out.println();
        out.printf("measured peak: %.1f GFLOP/s F32 on %d thread%s%s (best of all cases above: %s)%n", best.gflops, t,
                t == 1 ? "" : "s", cpuTime ? " per CPU-second" : "", best.what);
        out.println("load average at end: " + loadAvg());
    }


    /**
     * Runs small products through every jseek kernel path until {@code seconds} have passed, so that the first
     * timed case is not measured while the JIT still runs the Vector API code interpreted or in C1 (seconds on a
     * loaded 2-core machine). Returns the number of products run.
     */
    private static int jitWarmup(double seconds) {
        Random r = new Random(7);
        int s = 256;
        float[] a = randn(r, s * s), b = randn(r, s * s), c = new float[s * s];
        float[] w = randn(r, s * s);
        short[] wb = new short[w.length];
        for (int i = 0; i < w.length; i++) wb[i] = Bf16.fromFloat(w[i]);
        byte[] w8 = new byte[w.length];
        for (int i = 0; i < w8.length; i++) w8[i] = (byte) (r.nextInt(256) & 0x7E);
        float[] sc = new float[Matrix.scaleRows(s) * Matrix.scaleCols(s)];
        Arrays.fill(sc, 1e-3f);
        Matrix[] ws = {Matrix.ofF32(w, s, s), new Matrix(DType.BF16, s, s, MemorySegment.ofArray(wb), null),
                new Matrix(DType.F8_E4M3, s, s, MemorySegment.ofArray(w8), MemorySegment.ofArray(sc))};
        long end = System.nanoTime() + (long) (seconds * 1e9);
        int calls = 0;
        while (System.nanoTime() < end) {
            for (int t = 0; t < 4; t++)
                Gemm.sgemm((t & 1) != 0, (t & 2) != 0, s, s, s, 1f, a, 0, s, b, 0, s, 0f, c, 0, s);
            for (Matrix wm : ws)
                for (int m : new int[] {1, 16, 128}) Gemm.linear(c, 0, a, 0, m, wm, false);
            calls += 4 + 3 * ws.length;
        }
        return calls;
    }

    private void square(OpenBlas blas, int n, int nReps, Best best) {
        Random r = new Random(n);
        float[] a = randn(r, n * n), b = randn(r, n * n), c = new float[n * n];
        double flops = 2.0 * n * n * n;
        double tj = median(() -> Gemm.sgemm(false, false, n, n, n, 1f, a, 0, n, b, 0, n, 0f, c, 0, n), nReps);
        double gj = flops / tj / 1e9;
        note(best, gj, "jseek sgemm " + n + "^3");
        double go = Double.NaN;
        if (blas != null) {
            settle(20);                                      // jseek workers park after 2 ms of spinning
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment na = copy(arena, a), nb = copy(arena, b), nc = arena.allocate(4L * n * n, 64);
                double to = median(() -> blas.sgemm(false, false, n, n, n, 1f, na, n, nb, n, 0f, nc, n), nReps);
                go = flops / to / 1e9;
                note(best, go, "OpenBLAS sgemm " + n + "^3");
                checkSame(c, nc, "square " + n);
            }
            settle(300);                                     // OpenBLAS threads spin ~0.1 s after a call
        }
        row("square F32", n, n, n, "F32", gj, go, Double.NaN);
    }

    private void linearShapes(OpenBlas blas, int k, int n, int[] ms, int nReps, Best best) {
        Random r = new Random(k * 31L + n);
        float[] w = randn(r, n * k);
        for (int i = 0; i < w.length; i++) w[i] *= 0.03f;
        Matrix wF32 = Matrix.ofF32(w, n, k);
        short[] wb = new short[w.length];
        for (int i = 0; i < w.length; i++) wb[i] = Bf16.fromFloat(w[i]);
        Matrix wBf16 = new Matrix(DType.BF16, n, k, MemorySegment.ofArray(wb), null);
        byte[] w8 = new byte[w.length];
        for (int i = 0; i < w8.length; i++) {
            int code = r.nextInt(256);
            if ((code & 0x7F) == 0x7F) code ^= 1;                 // no NaN codes
            w8[i] = (byte) code;
        }
        float[] sc = new float[Matrix.scaleRows(n) * Matrix.scaleCols(k)];
        Arrays.fill(sc, 0.02f / 448f * 4f);
        Matrix wFp8 = new Matrix(DType.F8_E4M3, n, k, MemorySegment.ofArray(w8), MemorySegment.ofArray(sc));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment nw = blas != null ? copy(arena, w) : null;
            for (int m : ms) {
                float[] x = randn(r, m * k), y = new float[m * n];
                double flops = 2.0 * m * n * k;
                double go = Double.NaN;
                if (blas != null) {
                    settle(20);
                    MemorySegment nx = copy(arena, x), ny = arena.allocate(4L * m * n, 64);
                    double to = median(() -> blas.sgemm(false, true, m, n, k, 1f, nx, k, nw, k, 0f, ny, n), nReps);
                    go = flops / to / 1e9;
                    note(best, go, "OpenBLAS M=" + m + " " + k + "x" + n);
                    settle(300);
                    Gemm.linear(y, 0, x, 0, m, wF32, false);
                    checkSame(y, ny, "linear M=" + m + " K=" + k + " N=" + n);
                }
                String name = "linear " + k + "x" + n;
                for (Matrix wm : new Matrix[] {wF32, wBf16, wFp8}) {
                    double tj = median(() -> Gemm.linear(y, 0, x, 0, m, wm, false), nReps);
                    double gj = flops / tj / 1e9;
                    if (wm.dtype() == DType.F32) note(best, gj, "jseek linear M=" + m + " " + k + "x" + n);
                    double gbs = (double) n * k * wm.dtype().bytes / tj / 1e9;
                    row(name, m, n, k, wm.dtype() == DType.F8_E4M3 ? "FP8E4M3" : wm.dtype().name(), gj, go, gbs);
                }
            }
        }
    }

    private void row(String name, int m, int n, int k, String dtype, double gj, double go, double gbs) {
        out.printf("%-22s %6d %6d %6d %-8s %11.1f %14s %7s %11s%n", name, m, n, k, dtype, gj,
                Double.isNaN(go) ? "-" : String.format("%.1f", go),
                Double.isNaN(go) ? "-" : String.format("%.2f", gj / go),
                Double.isNaN(gbs) ? "" : String.format("%.1f", gbs));
        out.flush();
    }

    private static void note(Best best, double gflops, String what) {
        if (gflops > best.gflops) { best.gflops = gflops; best.what = what; }
    }

    /** Warm-up (at least 2 runs and 0.3 s), then the median of reps timed runs (more for short runs, up to 0.5 s). */
    private static double median(Runnable body, int reps) {
        long start = System.nanoTime();
        int warm = 0;
        while (warm < 2 || System.nanoTime() - start < 300_000_000L) { body.run(); warm++; if (warm > 200) break; }
        List<Double> ts = new ArrayList<>();
        long t0 = System.nanoTime();
        while (ts.size() < reps || (System.nanoTime() - t0 < 500_000_000L && ts.size() < 50)) {
            long s = now();
            body.run();
            ts.add((now() - s) / 1e9);
        }
        ts.sort(null);
        return ts.get(ts.size() / 2);
    }

    private void checkSame(float[] mine, MemorySegment theirs, String what) {
        double maxDiff = 0, maxAbs = 0;
        for (int i = 0; i < mine.length; i++) {
            float o = theirs.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            maxDiff = Math.max(maxDiff, Math.abs(mine[i] - o));
            maxAbs = Math.max(maxAbs, Math.abs(o));
        }
        if (maxDiff > 1e-3 * maxAbs)
            out.printf("WARNING: %s: jseek and OpenBLAS differ: max |diff| %.3g vs max |C| %.3g%n", what, maxDiff, maxAbs);
    }

    /** Uniform values in [-1, 1) from a seeded xorshift generator (fast enough for 10^8-element weights). */
    private static float[] randn(Random r, int n) {
        float[] a = new float[n];
        long x = r.nextLong() | 1;
        for (int i = 0; i < n; i++) {
            x ^= x << 13; x ^= x >>> 7; x ^= x << 17;
            a[i] = (int) (x >>> 40) * 0x1p-23f - 1f;
        }
        return a;
    }

    /** Lets idle spinning threads of the other library go to sleep, so they do not steal a core from the next timing. */
    private static void settle(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static MemorySegment copy(Arena arena, float[] a) {
        MemorySegment s = arena.allocate(4L * a.length, 64);
        MemorySegment.copy(a, 0, s, ValueLayout.JAVA_FLOAT, 0, a.length);
        return s;
    }

    private static int vectorBits() {
        String p = System.getProperty("jseek.vectorBits");
        return p != null ? Integer.parseInt(p.trim()) : Math.max(256, jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize());
    }

    private static String cpuInfo() {
        try {
            return Files.readString(Path.of("/proc/cpuinfo"));
        } catch (Exception e) {
            return "";
        }
    }

    private static String cpuModel() {
        for (String l : cpuInfo().split("\n")) if (l.startsWith("model name")) return l.substring(l.indexOf(':') + 1).trim();
        return System.getProperty("os.arch");
    }

    private static String autoCore() {
        String info = cpuInfo();
        if (info.contains(" avx512f")) return "SkylakeX";
        if (info.contains(" avx2")) return "Haswell";
        return null;
    }

    private static String loadAvg() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (Exception e) {
            return "?";
        }
    }
}
