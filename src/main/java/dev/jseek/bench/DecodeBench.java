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
 * every speculative decoder produced exactly plain's tokens; one speculative decoder per entry of {@code draftTokens} (the most
 * MTP drafts per step), all in the same alternation. Generation does not stop at EOS, so both always make {@code tokens} tokens.
 * {@code jseek bench decode} runs it.
 *
 * @param ids    the prompt ids
 * @param tok    the tokenizer to print the completion with, or null
 * @param prompt the prompt text printed before the completion, or null
 * @param profile also print, per emitted token, each decoder's time by phase ({@link StepProfile}; one more run of
 *                each after the timed ones; thread CPU time with {@code -Djseek.profile.cpu=true})
 */
public record DecodeBench(Path model, DeepSeekV3 m, AttnMode mode, int[] ids, int tokens, int runs, int warmup, float temperature,
                          int topK, float topP, long seed, Tokenizer tok, String prompt, boolean profile, int[] draftTokens) {
    /** Runs both decoders and prints the table to {@code out}. The model must have an MTP module. */
    public void run(PrintStream out) {
        int vocab = m.config.vocabSize(), K = draftTokens.length;
        Decoder[] dec = new Decoder[K + 1];                                 // 0: plain; 1..K: speculative, k = draftTokens[i-1]
        String[] name = new String[K + 1];
        dec[0] = Decoder.of(m, mode, false);
        name[0] = "plain";
        for (int i = 0; i < K; i++) {
            dec[i + 1] = Decoder.of(m, mode, true, draftTokens[i]);
            name[i + 1] = "spec k=" + draftTokens[i];
        }
        int[] none = new int[0];
        for (int w = 0; w < warmup; w++)                                     // JIT warm-up of every path
            for (Decoder d : dec) d.generate(ids, tokens, sampler(), none, null);
        Generator.Result[][] res = new Generator.Result[K + 1][runs];
        long[][] cpu = new long[K + 1][runs];
        for (int r = 0; r < runs; r++)
            for (int i = 0; i <= K; i++) {                                   // alternating, the order rotated each run
                int d = (i + r) % (K + 1);
                long c0 = MX.getCurrentThreadCpuTime();
                res[d][r] = dec[d].generate(ids, tokens, sampler(), none, null);
                cpu[d][r] = MX.getCurrentThreadCpuTime() - c0;
            }
        for (long[] c : cpu) Arrays.sort(c);
        for (int i = 1; i <= K; i++)
            for (int r = 0; r < runs; r++) {
                int diff = firstDifference(res[0][r].tokens(), res[i][r].tokens());
                if (diff >= 0)
                    throw new IllegalStateException("speculative decoding (" + name[i] + ") diverged from plain decoding at token " + diff + " of run " + r
                            + ": " + at(res[0][r].tokens(), diff) + " vs " + at(res[i][r].tokens(), diff) + " (a bug: they must be identical)");
            }
        Generator.Result[] med = new Generator.Result[K + 1];
        for (int i = 0; i <= K; i++) med[i] = median(res[i]);
        out.printf("model %s (%d layers, hidden %d, vocab %d), %s attention, %d threads%n", model, m.config.numHiddenLayers(),
                m.config.hiddenSize(), vocab, mode.name().toLowerCase(), Runtime.getRuntime().availableProcessors());
        out.printf("prompt %d tokens, %d generated per run (no stop at EOS), %s, median of %d runs (alternating, after %d warm-up runs of each)%n%n",
                ids.length, tokens, temperature <= 0 ? "greedy" : "temperature " + temperature + " top-k " + topK + " top-p " + topP + " seed " + seed, runs, warmup);
        out.printf("%-12s %14s %15s %9s %9s %8s %9s %11s %9s %10s%n", "decoder", "decode tok/s", "prefill tok/s", "tokens", "forwards",
                "drafted", "accepted", "acceptance", "speedup", "CPU ratio");
        for (int i = 0; i <= K; i++) {
            Generator.Result g = med[i];
            DraftStats d = g.drafts();
            double speed = g.decodeTokensPerSecond() / med[0].decodeTokensPerSecond(), cpuRatio = (double) cpu[0][runs / 2] / cpu[i][runs / 2];
            if (d == null)
                out.printf("%-12s %14.1f %15.1f %9d %9d %8s %9s %11s %9s %10s%n", name[i], g.decodeTokensPerSecond(), g.prefillTokensPerSecond(),
                        g.tokens().length, g.tokens().length - 1, "-", "-", "-", "1.00x", "1.00x");
            else
                out.printf("%-12s %14.1f %15.1f %9d %9d %8d %9d %10.1f%% %8.2fx %9.2fx%n", name[i], g.decodeTokensPerSecond(), g.prefillTokensPerSecond(),
                        g.tokens().length, d.forwards(), d.drafted(), d.accepted(), 100 * d.acceptanceRate(), speed, cpuRatio);
        }
        out.printf("%nspeedup: decode tokens/s over plain's (medians); CPU ratio: plain's calling-thread CPU time per run over the decoder's "
                + "(prefill included; the work itself with jseek.threads=1); outputs identical to plain in all %d runs (%d tokens each)%n", runs, tokens);
        out.printf("%nacceptance per draft position (draft j is counted where drafts 1..j-1 were accepted: right / reached, and of all steps that drafted it)%n");
        for (int i = 1; i <= K; i++) {
            DraftStats d = med[i].drafts();
            StringBuilder b = new StringBuilder(String.format("%-12s", name[i]));
            for (int j = 0; j < d.positions(); j++)
                b.append(String.format("  draft %d: %d/%d (%.1f%%), %d drafted", j + 1, d.acceptedAt()[j], d.reachedAt()[j],
                        100 * d.conditionalRate(j), d.draftedAt()[j]));
            out.println(b);
        }
        if (profile) printProfile(out, dec, name, none);
        if (tok != null) {
            String text = tok.decode(med[0].tokens());
            out.println("completion: " + (prompt != null ? prompt : "") + text.substring(0, Math.min(text.length(), 400)));
        }
    }

    private void printProfile(PrintStream out, Decoder[] dec, String[] name, int[] none) {
        long[][] ph = new long[dec.length][];
        boolean was = StepProfile.enabled();
        for (int d = 0; d < dec.length; d++) {
            StepProfile.reset();
            StepProfile.enable(true);
            dec[d].generate(ids, tokens, sampler(), none, null);
            StepProfile.enable(was);
            ph[d] = StepProfile.nanos();
        }
        StringBuilder head = new StringBuilder(String.format("%-34s", "phase"));
        for (String n : name) head.append(String.format(" %12s", n));
        out.printf("%nus per emitted token by phase (prefill of the prompt included; * = weight GEMV; a speculative column holds the "
                + "verify forwards and the MTP drafts)%n%s%n", head);
        long[] tot = new long[dec.length];
        for (StepProfile.Phase p : StepProfile.Phase.values()) {
            boolean any = false;
            for (long[] x : ph) any |= x[p.ordinal()] != 0;
            if (!any) continue;
            StringBuilder b = new StringBuilder(String.format("%-34s", p.name().toLowerCase() + (p.gemv() ? " *" : "")));
            for (int d = 0; d < dec.length; d++) {
                tot[d] += ph[d][p.ordinal()];
                b.append(String.format(" %12.1f", ph[d][p.ordinal()] / 1e3 / tokens));
            }
            out.println(b);
        }
        StringBuilder b = new StringBuilder(String.format("%-34s", "timed total"));
        for (long t : tot) b.append(String.format(" %12.1f", t / 1e3 / tokens));
        out.println(b);
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
