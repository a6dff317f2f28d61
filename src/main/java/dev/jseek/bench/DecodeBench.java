package dev.jseek.bench;

import dev.jseek.infer.Decoder;
import dev.jseek.infer.DraftStats;
import dev.jseek.infer.Generator;
import dev.jseek.infer.Sampler;
import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.StepProfile;
import dev.jseek.tokenizer.Tokenizer;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Plain decoding ({@link Generator}) against MTP speculative decoding ({@link dev.jseek.infer.SpeculativeGenerator},
 * report §2.2) on the same model and prompt in the same run: decode tokens/s of each (median of {@code runs} timed
 * runs, the two alternating, after {@code warmup} untimed runs of each), the draft acceptance rate, and a check that
 * both produced exactly the same tokens. Generation does not stop at EOS, so both always make {@code tokens} tokens.
 * {@code jseek bench decode} runs it.
 *
 * @param ids    the prompt ids
 * @param tok    the tokenizer to print the completion with, or null
 * @param prompt the prompt text printed before the completion, or null
 * @param profile also print, per emitted token, each decoder's time by phase ({@link StepProfile}; one more run of
 *                each after the timed ones; thread CPU time with {@code -Djseek.profile.cpu=true})
 */
public record DecodeBench(Path model, DeepSeekV3 m, AttnMode mode, int[] ids, int tokens, int runs, int warmup, float temperature,
                          int topK, float topP, long seed, Tokenizer tok, String prompt, boolean profile) {
    /** Runs both decoders and prints the table to {@code out}. The model must have an MTP module. */
    public void run(PrintStream out) {
        int vocab = m.config.vocabSize();
        Decoder plain = Decoder.of(m, mode, false);
        Decoder spec = Decoder.of(m, mode, true);
        int[] none = new int[0];
        for (int w = 0; w < warmup; w++) {                                  // JIT warm-up of both paths
            plain.generate(ids, tokens, sampler(), none, null);
            spec.generate(ids, tokens, sampler(), none, null);
        }
        Generator.Result[] p = new Generator.Result[runs], s = new Generator.Result[runs];
        long[] pc = new long[runs], sc = new long[runs];
        for (int r = 0; r < runs; r++) {
            long c0 = MX.getCurrentThreadCpuTime();
            p[r] = plain.generate(ids, tokens, sampler(), none, null);
            long c1 = MX.getCurrentThreadCpuTime();
            s[r] = spec.generate(ids, tokens, sampler(), none, null);
            pc[r] = c1 - c0;
            sc[r] = MX.getCurrentThreadCpuTime() - c1;
        }
        Arrays.sort(pc);
        Arrays.sort(sc);
        for (int r = 0; r < runs; r++) {
            int diff = firstDifference(p[r].tokens(), s[r].tokens());
            if (diff >= 0)
                throw new IllegalStateException("speculative decoding diverged from plain decoding at token " + diff + " of run " + r
                        + ": " + at(p[r].tokens(), diff) + " vs " + at(s[r].tokens(), diff) + " (a bug: they must be identical)");
        }
        Generator.Result pm = median(p), sm = median(s);
        DraftStats d = sm.drafts();
        out.printf("model %s (%d layers, hidden %d, vocab %d), %s attention, %d threads%n", model, m.config.numHiddenLayers(),
                m.config.hiddenSize(), vocab, mode.name().toLowerCase(), Runtime.getRuntime().availableProcessors());
        out.printf("prompt %d tokens, %d generated per run (no stop at EOS), %s, median of %d runs (alternating, after %d warm-up runs of each)%n%n",
                ids.length, tokens, temperature <= 0 ? "greedy" : "temperature " + temperature + " top-k " + topK + " top-p " + topP + " seed " + seed, runs, warmup);
        out.printf("%-12s %14s %15s %9s %9s %8s %9s %11s%n", "decoder", "decode tok/s", "prefill tok/s", "tokens", "forwards",
                "drafted", "accepted", "acceptance");
        out.printf("%-12s %14.1f %15.1f %9d %9d %8s %9s %11s%n", "plain", pm.decodeTokensPerSecond(), pm.prefillTokensPerSecond(),
                pm.tokens().length, pm.tokens().length - 1, "-", "-", "-");
        out.printf("%-12s %14.1f %15.1f %9d %9d %8d %9d %10.1f%%%n", "speculative", sm.decodeTokensPerSecond(), sm.prefillTokensPerSecond(),
                sm.tokens().length, d.forwards(), d.drafted(), d.accepted(), 100 * d.acceptanceRate());
        out.printf("%nspeedup %.2fx (decode tokens/s, speculative / plain); outputs identical in all %d runs (%d tokens each)%n",
                sm.decodeTokensPerSecond() / pm.decodeTokensPerSecond(), runs, tokens);
        out.printf("calling thread's CPU time per run (prefill included; the work itself with jseek.threads=1): plain %.1f ms, "
                + "speculative %.1f ms, ratio %.2fx (medians)%n", pc[runs / 2] / 1e6, sc[runs / 2] / 1e6, (double) pc[runs / 2] / sc[runs / 2]);
        if (profile) printProfile(out, plain, spec, none);
        if (tok != null) {
            String text = tok.decode(pm.tokens());
            out.println("completion: " + (prompt != null ? prompt : "") + text.substring(0, Math.min(text.length(), 400)));
        }
    }

    private void printProfile(PrintStream out, Decoder plain, Decoder spec, int[] none) {
        long[][] ph = new long[2][];
        boolean was = StepProfile.enabled();
        for (int d = 0; d < 2; d++) {
            StepProfile.reset();
            StepProfile.enable(true);
            (d == 0 ? plain : spec).generate(ids, tokens, sampler(), none, null);
            StepProfile.enable(was);
            ph[d] = StepProfile.nanos();
        }
        out.printf("%nus per emitted token by phase (prefill of the prompt included; * = weight GEMV; the speculative column holds the "
                + "verify forwards and the MTP drafts)%n%-34s %10s %12s%n", "phase", "plain", "speculative");
        long[] tot = new long[2];
        for (StepProfile.Phase p : StepProfile.Phase.values()) {
            long a = ph[0][p.ordinal()], b = ph[1][p.ordinal()];
            if (a == 0 && b == 0) continue;
            tot[0] += a;
            tot[1] += b;
            out.printf("%-34s %10.1f %12.1f%n", p.name().toLowerCase() + (p.gemv() ? " *" : ""), a / 1e3 / tokens, b / 1e3 / tokens);
        }
        out.printf("%-34s %10.1f %12.1f%n", "timed total", tot[0] / 1e3 / tokens, tot[1] / 1e3 / tokens);
    }

    private static final java.lang.management.ThreadMXBean MX = java.lang.management.ManagementFactory.getThreadMXBean();

    private Sampler sampler() { return new Sampler(temperature, topK, topP, seed); }

    private static Generator.Result median(Generator.Result[] rs) {
        Generator.Result[] s = rs.clone();
        Arrays.sort(s, (a, b) -> Double.compare(a.decodeTokensPerSecond(), b.decodeTokensPerSecond()));
        return s[s.length / 2];
    }

    private static int firstDifference(int[] a, int[] b) {
        int n = Math.min(a.length, b.length);
        for (int i = 0; i < n; i++) if (a[i] != b[i]) return i;
        return a.length == b.length ? -1 : n;
    }

    private static String at(int[] a, int i) { return i < a.length ? Integer.toString(a[i]) : "(end)"; }
}
