package dev.jseek.bench;

import dev.jseek.fp8.ScaleFormat;
import dev.jseek.fp8.TileQuantizer;
import dev.jseek.parallel.Communicator;
import dev.jseek.parallel.ElemType;
import dev.jseek.parallel.HugePages;
import dev.jseek.parallel.MpiComm;
import dev.jseek.parallel.TokenDispatch;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * GB/s of jseek's MPI binding (Open MPI through FFM, {@link MpiComm}) against mpi4py calling the same Open MPI with
 * the same sizes in the same run ({@code tools/bench_comm_mpi4py.py}), and the expert-parallel dispatch/combine
 * ({@link TokenDispatch}) at a scaled-down DeepSeek-V3 shape. {@link #orchestrate} (not under mpirun) starts
 * {@code mpirun -np N} itself, alternating a jseek job ({@link #work} on every rank) and an mpi4py job for
 * {@code rounds} rounds, and keeps each case's best time. {@code jseek bench comm} runs it.
 *
 * @param mca extra mpirun arguments, space-separated, or null
 */
public record CommBench(int np, int[] sizesMib, int rounds, int itersMib, int tokens, int hidden, int experts, int topK, String mpirun,
                        String mca, String python) {
    public CommBench {
        if (np < 1 || rounds < 1 || itersMib < 1 || tokens < 1 || hidden < 1 || topK < 1 || experts < topK)
            throw new IllegalArgumentException("bench comm: --np, --rounds, --iters-mib, --tokens, --hidden, --top-k must be >= 1 and --experts >= --top-k");
        for (int s : sizesMib) if (s < 1 || s > 1024) throw new IllegalArgumentException("--sizes-mib: each size must be in 1..1024, got " + s);
        if (experts % np != 0) throw new IllegalArgumentException("--experts " + experts + " does not split over --np " + np + " ranks");
        sizesMib = sizesMib.clone();
    }

    /** The arguments of {@code bench comm --worker} that reproduce these settings in the MPI job. */
    public List<String> workerArgs() {
        return List.of("--worker", "--np", Integer.toString(np), "--sizes-mib", joined(sizesMib), "--iters-mib", Integer.toString(itersMib),
                "--tokens", Integer.toString(tokens), "--hidden", Integer.toString(hidden), "--experts", Integer.toString(experts),
                "--top-k", Integer.toString(topK));
    }

    private long[] sizes() {
        long[] b = new long[sizesMib.length];
        for (int i = 0; i < b.length; i++) b[i] = (long) sizesMib[i] << 20;
        return b;
    }

    private int iters(long bytes) { return (int) Math.max(3, Math.min(200, ((long) itersMib << 20) / bytes)); }

    // ---- the MPI job (one rank per process) ----

    private interface Op { void run(); }

    /** Untimed warm-up per case, at least: long enough for the JIT to have compiled the whole path (C2 included). */
    static final double WARMUP_SECONDS = 1.0;
    /** Timed windows per case; the best window's mean counts (the mpi4py side does the same). */
    static final int WINDOWS = 5;

    /**
     * Times the ops as {@code tools/bench_comm_mpi4py.py} does: for each op, 3 calls estimate its time and every rank
     * runs the same warm-up count (at least {@code iters} calls and {@link #WARMUP_SECONDS} by the slowest rank's
     * estimate; with too short a warm-up the JIT compiles the path inside the timed loop, its compiler thread competing
     * with the rank's own spinning thread for the core mpirun bound them to); then {@link #WINDOWS} rounds in which
     * every op in turn runs a window of {@code iters} calls after a barrier (interleaved, so a change in the machine's
     * load falls on every op alike). Returns each op's best window, in seconds per call.
     */
    private static Map<String, Double> timed(Communicator c, int iters, Map<String, Op> ops) {
        for (Op op : ops.values()) {
            long t0 = System.nanoTime();
            for (int i = 0; i < 3; i++) op.run();
            long est = Math.max(1, (System.nanoTime() - t0) / 3);
            for (long e : c.allGather(new long[] {est})) est = Math.max(est, e);
            long warm = Math.max(iters, Math.min(200_000, (long) (WARMUP_SECONDS * 1e9 / est)));
            for (long i = 0; i < warm; i++) op.run();
        }
        Map<String, Double> best = new LinkedHashMap<>();
        for (int w = 0; w < WINDOWS; w++)
            for (var e : ops.entrySet()) {
                c.barrier();
                long s = System.nanoTime();
                for (int i = 0; i < iters; i++) e.getValue().run();
                best.merge(e.getKey(), (System.nanoTime() - s) / 1e9 / iters, Math::min);
            }
        return best;
    }

    /** The MPI job's side (run under mpirun, one rank per process): rank 0 prints RESULT / DISPATCH / ROWS lines. */
    public int work(PrintWriter o) {
        MpiComm c = MpiComm.world();
        int n = c.size(), r = c.rank();
        try (Arena a = Arena.ofShared()) {
            for (long size : sizes()) {
                int floats = (int) (size / 4), per = floats / n, it = iters(size);
                int[] cnt = new int[n], dsp = new int[n];
                for (int i = 0; i < n; i++) { cnt[i] = per; dsp[i] = i * per; }
                MemorySegment send = HugePages.allocate(a, 4L * per * n), recv = HugePages.allocate(a, 4L * per * n), buf = HugePages.allocate(a, 4L * floats);
                for (long i = 0; i < (long) per * n; i++) send.setAtIndex(ValueLayout.JAVA_FLOAT, i, r + 1);
                for (long i = 0; i < floats; i++) buf.setAtIndex(ValueLayout.JAVA_FLOAT, i, r + 1);
                MemorySegment out = HugePages.allocate(a, 4L * floats);
                Map<String, Op> ops = new LinkedHashMap<>();
                ops.put("jseek-a2av", () -> c.allToAllV(send, cnt, dsp, recv, cnt, dsp, ElemType.FLOAT));
                ops.put("jseek-a2av-raw", () -> c.mpiIalltoallvSpin(send, cnt, dsp, recv, cnt, dsp, ElemType.FLOAT));
                ops.put("jseek-a2av-blocking", () -> c.mpiAlltoallv(send, cnt, dsp, recv, cnt, dsp, ElemType.FLOAT));
                ops.put("jseek-allreduce", () -> c.allReduceSum(buf, floats));
                ops.put("jseek-allreduce-mpi", () -> c.mpiAllreduceSum(buf, out, floats));
                Map<String, Double> res = timed(c, it, ops);
                if (r == 0)
                    for (var e : res.entrySet())
                        o.printf(Locale.ROOT, "RESULT %s %s %d %.9f%n", e.getKey(), e.getKey().contains("a2av") ? "a2av" : "allreduce", size, e.getValue());
                o.flush();
            }
        }
        // dispatch / combine: uniform random top-k routing (seeded per rank), identity experts
        TokenDispatch d = new TokenDispatch(c, hidden, experts / n);
        Random rnd = new Random(1234 + r);
        int[] route = new int[tokens * topK];
        for (int t = 0; t < tokens; t++) {
            int[] perm = new int[experts];
            for (int i = 0; i < experts; i++) perm[i] = i;
            for (int j = 0; j < topK; j++) {
                int k = j + rnd.nextInt(experts - j);
                int tmp = perm[j]; perm[j] = perm[k]; perm[k] = tmp;
                route[t * topK + j] = perm[j];
            }
        }
        float[] x = new float[tokens * hidden];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        d.plan(tokens, topK, route);
        float[] rows = new float[d.received() * hidden], back = new float[tokens * hidden];
        int nt = (hidden + 127) / 128;
        byte[] codes = new byte[d.received() * hidden];
        float[] scales = new float[d.received() * nt];
        int it = 10;
        Map<String, Op> ops = new LinkedHashMap<>();
        ops.put("dispatch", () -> d.dispatch(x, rows));
        ops.put("combine", () -> d.combine(rows, back));
        byte[] q = new byte[tokens * hidden];
        float[] qs = new float[tokens * nt];
        ops.put("dispatch-fp8", () -> {
            TileQuantizer.quantizeRowsInto(x, 0, tokens, hidden, ScaleFormat.FP32, q, 0, qs, 0);
            d.dispatchFp8(q, qs, codes, scales);
        });
        ops.put("combine-bf16", () -> d.combineBf16(rows, back));
        Map<String, Double> td = timed(c, it, ops);
        double tD = td.get("dispatch"), tC = td.get("combine"), tD8 = td.get("dispatch-fp8"), tC16 = td.get("combine-bf16");
        long sent = d.sent();
        long[] all = c.allGather(new long[] {sent, d.received()});
        if (r == 0) {
            long maxSent = 0;
            for (int i = 0; i < n; i++) maxSent = Math.max(maxSent, all[2 * i]);
            o.printf(Locale.ROOT, "ROWS %s%n", Arrays.toString(all));
            o.printf(Locale.ROOT, "DISPATCH dispatch-fp32 %d %.9f%n", maxSent * 4L * hidden, tD);
            o.printf(Locale.ROOT, "DISPATCH combine-fp32 %d %.9f%n", maxSent * 4L * hidden, tC);
            o.printf(Locale.ROOT, "DISPATCH dispatch-fp8 %d %.9f%n", maxSent * d.fp8RowBytes(), tD8);
            o.printf(Locale.ROOT, "DISPATCH combine-bf16 %d %.9f%n", maxSent * 2L * hidden, tC16);
            o.flush();
        }
        c.close();
        return 0;
    }

    // ---- the orchestrator ----

    /**
     * Starts the jseek job ({@code workerCommand}: a java command line running {@code bench comm --worker}, to which the
     * mpirun arguments are prepended) and the mpi4py job alternately, and prints the tables of the best times.
     */
    public int orchestrate(PrintWriter o, List<String> workerCommand) throws IOException, InterruptedException {
        Path script = findScript();
        StringBuilder sz = new StringBuilder();
        for (long s : sizes()) sz.append(sz.isEmpty() ? "" : ",").append(s);
        List<String> base = new ArrayList<>(List.of(mpirun));
        if (np > Runtime.getRuntime().availableProcessors()) base.add("--oversubscribe");
        if (mca != null && !mca.isBlank()) base.addAll(Arrays.asList(mca.trim().split("\\s+")));
        base.addAll(List.of("-np", Integer.toString(np)));
        List<String> java = new ArrayList<>(base);
        java.addAll(workerCommand);
        List<String> py = new ArrayList<>(base);
        py.addAll(List.of(python, script.toString(), "--sizes", sz.toString(), "--iters-bytes", Long.toString((long) itersMib << 20)));
        o.printf(Locale.ROOT, "bench comm: %d MPI processes, %d rounds alternating jseek (Open MPI through FFM) and mpi4py (%s); each case: "
                + "%.0f s warm-up, best of %d windows interleaved with the other cases, best over the rounds; load average %s%n", np, rounds, script, WARMUP_SECONDS, WINDOWS,
                loadAverage());
        o.flush();
        Map<String, Double> best = new LinkedHashMap<>();
        Map<String, Long> bytes = new LinkedHashMap<>();
        String rowsLine = "";
        for (int round = 0; round < rounds; round++) {
            for (List<String> cmd : round % 2 == 0 ? List.of(java, py) : List.of(py, java)) {
                for (String line : runJob(cmd)) {
                    String[] f = line.trim().split("\\s+");
                    if (f[0].equals("ROWS")) rowsLine = line.substring(5);
                    if (f[0].equals("RESULT") && f.length == 5) {
                        String key = f[1] + " " + f[3];
                        best.merge(key, Double.parseDouble(f[4]), Math::min);
                    } else if (f[0].equals("DISPATCH") && f.length == 4) {
                        best.merge(f[1], Double.parseDouble(f[3]), Math::min);
                        bytes.put(f[1], Long.parseLong(f[2]));
                    }
                }
            }
        }
        o.printf(Locale.ROOT, "%n%-10s %8s  %11s %11s %6s  %9s   %14s %14s%n", "op", "MiB/rank", "jseek GB/s", "mpi4py GB/s", "ratio",
                "jseek raw", "jseek blocking", "mpi4py blocking");
        for (long s : sizes()) {
            row(o, best, "all-to-all-v", "a2av", s);
            row(o, best, "all-reduce", "allreduce", s);
        }
        o.printf(Locale.ROOT, "(all-to-all-v: MPI_Ialltoallv + test loop with a deadline vs mpi4py Ialltoallv().Wait(); raw: MPI_Ialltoallv + "
                + "MPI_Test spinning through the FFM binding, without the communicator's deadline and checks; blocking columns: MPI_Alltoallv."
                + "%n all-reduce: jseek's rank-ordered all-reduce (Ialltoallv, sum in rank order, Iallgatherv) vs the same in mpi4py + numpy; "
                + "blocking columns: MPI_Allreduce, Open MPI's own order. GB/s = buffer bytes per rank / time.)%n");
        o.printf(Locale.ROOT, "%ndispatch/combine: hidden %d, top-%d of %d experts (%d per rank), %d tokens per rank, uniform random routing; "
                + "rows sent/received per rank %s%n", hidden, topK, experts, experts / np, tokens, rowsLine);
        o.printf(Locale.ROOT, "%-14s %16s %10s %14s%n", "op", "payload MiB/rank", "GB/s", "tokens/s");
        for (String k : List.of("dispatch-fp32", "combine-fp32", "dispatch-fp8", "combine-bf16")) {
            Double t = best.get(k);
            if (t == null) continue;
            long b = bytes.get(k);
            o.printf(Locale.ROOT, "%-14s %16.2f %10.2f %,14.0f%n", k, b / 1048576.0, b / t / 1e9, (double) tokens * np / t);
        }
        o.printf(Locale.ROOT, "(payload = rows of the busiest sender; FP8 rows: E4M3 codes + FP32 scale per 128 columns, quantization included; "
                + "BF16 combine: conversion included; tokens/s = tokens of all ranks / time)%n");
        o.flush();
        return 0;
    }

    private static void row(PrintWriter o, Map<String, Double> best, String name, String op, long s) {
        Double j = best.get("jseek-" + op + " " + s), p = best.get("mpi4py-" + op + " " + s);
        String jb = op.equals("a2av") ? "jseek-a2av-blocking" : "jseek-allreduce-mpi", pb = op.equals("a2av") ? "mpi4py-a2av-blocking" : "mpi4py-allreduce-mpi";
        Double jbt = best.get(jb + " " + s), pbt = best.get(pb + " " + s);
        Double raw = best.get("jseek-" + op + "-raw " + s);
        o.printf(Locale.ROOT, "%-12s %6d  %11s %11s %6s  %9s   %14s %14s%n", name, s >> 20, gbs(s, j), gbs(s, p),
                j == null || p == null ? "-" : String.format(Locale.ROOT, "%.2f", p / j), gbs(s, raw), gbs(s, jbt), gbs(s, pbt));
    }

    /** The 1, 5 and 15 minute load averages of /proc/loadavg (timings from a loaded machine are not results), or "unknown". */
    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    private static String gbs(long bytes, Double sec) { return sec == null ? "-" : String.format(Locale.ROOT, "%.2f", bytes / sec / 1e9); }

    private static String joined(int[] v) {
        StringBuilder b = new StringBuilder();
        for (int x : v) b.append(b.isEmpty() ? "" : ",").append(x);
        return b.toString();
    }

    private List<String> runJob(List<String> cmd) throws IOException, InterruptedException {
        Path log = Files.createTempFile("jseek-bench-comm", ".log");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
            Process p = pb.start();
            if (!p.waitFor(20, TimeUnit.MINUTES)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new IllegalStateException("bench comm: " + cmd.getFirst() + " job did not finish in 20 minutes");
            }
            List<String> lines = Files.readAllLines(log);
            if (p.exitValue() != 0)
                throw new IllegalStateException("bench comm: job failed (exit " + p.exitValue() + "): " + String.join(" ", cmd.subList(0, Math.min(6, cmd.size())))
                        + " ...; its output: " + String.join(" | ", lines.subList(Math.max(0, lines.size() - 8), lines.size())));
            return lines;
        } finally {
            Files.deleteIfExists(log);
        }
    }

    private static Path findScript() {
        List<Path> tried = new ArrayList<>();
        try {
            Path here = Path.of(CommBench.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            for (Path p = here; p != null; p = p.getParent()) {
                Path s = p.resolve("tools/bench_comm_mpi4py.py");
                tried.add(s);
                if (Files.isRegularFile(s)) return s;
            }
        } catch (Exception ignored) {
            // fall through to the working directory
        }
        Path s = Path.of("tools/bench_comm_mpi4py.py").toAbsolutePath();
        if (Files.isRegularFile(s)) return s;
        throw new IllegalStateException("bench comm: cannot find tools/bench_comm_mpi4py.py (looked in " + tried + " and " + s + ")");
    }
}
