package dev.jseek.model;

import dev.jseek.kernels.Parallel;
import java.io.PrintStream;

/**
 * Wall-clock timers per phase of the inference forward (docs/inference.md, "The decode step"), for
 * {@code jseek bench infer --profile}: where a decode step spends its time besides the weight GEMVs, and how many
 * parallel sections (fork/joins of the {@link Parallel} pool) it runs. Off by default: then every timer is one branch on
 * a static boolean. Turned on by {@link #enable} or the system property {@code jseek.profile=true}.
 *
 * <p>Phases do not nest: each call site times one phase with {@link #start} and {@link #stop}. The timers are plain
 * statics: they mean something with one model running on one thread at a time (the bench), which is what they are for.
 */
public final class StepProfile {
    private StepProfile() {}

    /** The phases of a forward, in the order a decode step runs them. */
    public enum Phase {
        EMBED("embedding lookup"),
        NORM("RMSNorms (attn, ffn; q_a, kv_a)"),
        ATTN_PROJ("attn GEMVs q_a, q_b, kv_a"),
        ROPE("RoPE (q, k)"),
        CACHE("latent cache write/read"),
        ATTN_HEADS("attn per head (absorb..expand)"),
        ATTN_ABSORB("attn absorb q (W_UK)"),
        ATTN_CORE("attn scores, softmax, P c_kv"),
        ATTN_EXPAND("attn expand (W_UV)"),
        ATTN_OUT("attn GEMV o_proj"),
        RESIDUAL("residual adds"),
        ROUTER("router GEMV"),
        ROUTE("routing (scores, top-k)"),
        MOE_GATHER("moe bucket/gather"),
        EXPERT_GATE_UP("experts+shared gate/up GEMVs"),
        SWIGLU("SwiGLU"),
        EXPERT_DOWN("experts+shared down GEMVs"),
        MOE_COMBINE("moe weighted sum"),
        DENSE_FFN("dense FFN GEMVs"),
        FINAL_NORM("final norm"),
        LM_HEAD("lm_head GEMV"),
        SAMPLE("sampling"),
        OTHER("other");

        final String label;

        Phase(String label) { this.label = label; }

        /** True for the phases that are weight GEMVs (the memory-bound products). */
        public boolean gemv() {
            return this == ATTN_PROJ || this == ROUTER || this == ATTN_OUT || this == EXPERT_GATE_UP || this == EXPERT_DOWN || this == DENSE_FFN
                    || this == LM_HEAD;
        }
    }

    private static volatile boolean on = Boolean.getBoolean("jseek.profile");
    /**
     * {@code jseek.profile.cpu=true}: phases are timed in the calling thread's CPU time instead of wall-clock time (on
     * a loaded machine with {@code jseek.threads=1}, the work itself; each reading is a system call, about 1 us).
     */
    private static final boolean CPU = Boolean.getBoolean("jseek.profile.cpu");
    private static final java.lang.management.ThreadMXBean MX = java.lang.management.ManagementFactory.getThreadMXBean();

    private static long now() { return CPU ? MX.getCurrentThreadCpuTime() : System.nanoTime(); }
    private static final Phase[] PHASES = Phase.values();
    private static final long[] nanos = new long[PHASES.length];
    private static final long[] calls = new long[PHASES.length];
    private static final long[] jobs = new long[PHASES.length];
    private static long jobsAtStart;

    public static void enable(boolean enabled) {
        on = enabled;
        Parallel.stats(enabled);
    }

    public static boolean enabled() { return on; }

    /** A start timestamp, or 0 when profiling is off. */
    public static long start() {
        if (!on) return 0L;
        jobsAtStart = Parallel.jobCount();
        return now();
    }

    /** Adds the time since {@code t0} to {@code p}, and the parallel sections run since (no-op when off). */
    public static void stop(Phase p, long t0) {
        if (t0 == 0L) return;
        int i = p.ordinal();
        nanos[i] += now() - t0;
        calls[i]++;
        jobs[i] += Parallel.jobCount() - jobsAtStart;
    }

    public static void reset() {
        java.util.Arrays.fill(nanos, 0);
        java.util.Arrays.fill(calls, 0);
        java.util.Arrays.fill(jobs, 0);
        if (on) Parallel.stats(true);
    }

    /** Nanoseconds per phase (ordinal order). */
    public static long[] nanos() { return nanos.clone(); }

    /** Parallel sections per phase (ordinal order). */
    public static long[] jobs() { return jobs.clone(); }

    /**
     * Prints one line per phase that ran: time per step, share of the timed total, parallel sections per step; then
     * the GEMV phases' share against everything else. {@code steps} divides the totals (decode steps timed).
     */
    public static void print(PrintStream out, long steps, long wallNanos) {
        long total = 0, gemv = 0, totalJobs = 0;
        for (Phase p : PHASES) {
            total += nanos[p.ordinal()];
            if (p.gemv()) gemv += nanos[p.ordinal()];
            totalJobs += jobs[p.ordinal()];
        }
        double s = Math.max(1, steps);
        out.printf("%-34s %10s %7s %9s %11s%n", "phase", "us/token", "share", "calls/tok", "forks/tok");
        for (Phase p : PHASES) {
            int i = p.ordinal();
            if (calls[i] == 0) continue;
            out.printf("%-34s %10.1f %6.1f%% %9.1f %11.1f%n", p.label + (p.gemv() ? " *" : ""), nanos[i] / 1e3 / s,
                    100.0 * nanos[i] / Math.max(1, total), calls[i] / s, jobs[i] / s);
        }
        out.printf("%-34s %10.1f %6.1f%% %9s %11.1f%n", "timed total", total / 1e3 / s, 100.0, "", totalJobs / s);
        out.printf("%-34s %10.1f %6.1f%%%n", "  * weight GEMVs", gemv / 1e3 / s, 100.0 * gemv / Math.max(1, total));
        out.printf("%-34s %10.1f %6.1f%%%n", "  everything else", (total - gemv) / 1e3 / s, 100.0 * (total - gemv) / Math.max(1, total));
        long[] ps = Parallel.statsSnapshot();
        if (ps[0] > 0)
            out.printf("parallel sections (%d threads): %.1f tasks per section; the calling thread ran %.0f%% of the tasks, alone in %.0f%% of the"
                            + " sections; it waited %.1f us/token for the workers' last tasks%n", Parallel.threads(), (double) ps[0] / Math.max(1, totalJobs),
                    100.0 * ps[1] / ps[0], 100.0 * ps[2] / Math.max(1, totalJobs), ps[3] / 1e3 / s);
        if (wallNanos > 0 && !CPU)
            out.printf("%-34s %10.1f   (untimed: %.1f%%)%n", "wall per token", wallNanos / 1e3 / s, 100.0 * (wallNanos - total) / wallNanos);
    }
}
