package dev.jseek.eval;

import dev.jseek.data.CorpusSpec;
import dev.jseek.data.Document;
import dev.jseek.data.Manifest;
import dev.jseek.data.TokenDataset;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.posttrain.ArithmeticTask;
import dev.jseek.posttrain.ExactMatchReward;
import dev.jseek.posttrain.RewardEval;
import dev.jseek.posttrain.WeightedReward;
import dev.jseek.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Runs every metric of {@code jseek eval} that its inputs allow and fills one {@link Scorecard}: bits per byte and
 * FIM need the prepared data directory (its validation split and, for FIM, the corpus and split rule in its
 * manifest); multiple choice needs a JSONL file; passkey needs lengths that fit the model; arithmetic always runs
 * (the held-out draws of {@code jseek grpo}: task seed + 1000003). A metric whose input is missing is a skipped row.
 */
public final class Evaluator {
    private Evaluator() {}

    /**
     * Settings. {@code data} and {@code mcFile} may be null; {@code bpbTokens}, {@code fimExamples},
     * {@code arithmeticPrompts} or an empty {@code passkeyLengths} = 0 / empty turn a metric off.
     */
    public record Options(Path data, int bpbWindow, long bpbTokens, int fimExamples, int fimPrefixChars, int fimSuffixChars,
                          int fimMaxNew, List<Integer> passkeyLengths, List<Double> passkeyDepths, int passkeyTrials,
                          Path mcFile, String arithmeticTask, int arithmeticPrompts, long seed, int chunk) {}

    public static Scorecard run(DeepSeekV3 m, Tokenizer tok, String modelName, Options o, PrintStream log) {
        Scorecard sc = new Scorecard(modelName);
        TokenDataset ds = null;
        try {
            if (o.data() != null) ds = TokenDataset.open(o.data());
        } catch (IOException e) {
            throw new UncheckedIOException(o.data() + ": cannot open the prepared token directory: " + e.getMessage(), e);
        }
        try {
            bitsPerByte(m, sc, ds, o, log);
            fim(m, tok, sc, ds, o, log);
        } finally {
            if (ds != null) ds.close();
        }
        passkey(m, tok, sc, o, log);
        multipleChoice(m, tok, sc, o, log);
        arithmetic(m, tok, sc, o, log);
        return sc;
    }

    private static void bitsPerByte(DeepSeekV3 m, Scorecard sc, TokenDataset ds, Options o, PrintStream log) {
        String name = "held-out bits/byte";
        if (ds == null) { sc.skipped(name, "no --data"); return; }
        if (o.bpbTokens() <= 0) { sc.skipped(name, "--bpb-tokens 0"); return; }
        double bpt = ds.manifest().val().bytesPerToken();
        if (Double.isNaN(bpt)) { sc.skipped(name, o.data() + "/manifest.json records no text bytes"); return; }
        int window = Math.min(o.bpbWindow(), m.config.maxPositionEmbeddings());
        if (ds.val().size() < window) { sc.skipped(name, "validation split has " + ds.val().size() + " tokens, < window " + window); return; }
        long t0 = System.nanoTime();
        BitsPerByte.Result r = BitsPerByte.evaluate(m, ds.val(), window, o.bpbTokens(), bpt, o.chunk());
        sc.add(new Scorecard.Row(name, r.bitsPerByte(), "", r.tokens(), String.format(Locale.ROOT,
                "val split, %d windows of %d tokens, %.4f nats/token, %.3f bytes/token", r.windows(), window, r.natsPerToken(), bpt)));
        log.printf(Locale.ROOT, "eval: bits/byte %.4f on %,d tokens (%.1f s)%n", r.bitsPerByte(), r.tokens(), (System.nanoTime() - t0) / 1e9);
    }

    private static void fim(DeepSeekV3 m, Tokenizer tok, Scorecard sc, TokenDataset ds, Options o, PrintStream log) {
        String name = "Java FIM exact match";
        if (ds == null) { sc.skipped(name, "no --data"); return; }
        if (o.fimExamples() <= 0) { sc.skipped(name, "--fim 0"); return; }
        if (!dev.jseek.tokenizer.Prompts.hasFim(tok)) { sc.skipped(name, "tokenizer has no FIM tokens"); return; }
        Manifest mf = ds.manifest();
        if (!(mf.valFraction() > 0)) { sc.skipped(name, "data has no validation split"); return; }
        long t0 = System.nanoTime();
        List<Document> docs = FimEval.heldOut(CorpusSpec.parse(mf.corpus()), mf.seed(), mf.valFraction());
        List<FimEval.Example> ex = FimEval.examples(docs, o.fimExamples(), o.seed(), o.fimPrefixChars(), o.fimSuffixChars());
        if (ex.isEmpty()) { sc.skipped(name, "no held-out file with a usable line"); return; }
        FimEval.Result r = FimEval.run(m, tok, ex, o.fimMaxNew(), 3);
        sc.add(new Scorecard.Row(name, r.accuracy(), "%", r.examples(), String.format(Locale.ROOT,
                "one line removed from each of %d held-out files of %s (PSM, greedy)", r.examples(), mf.corpus())));
        log.printf(Locale.ROOT, "eval: FIM %d/%d exact (%.1f s)%n", r.exact(), r.examples(), (System.nanoTime() - t0) / 1e9);
        for (String[] s : r.samples()) log.printf("    %s: expected %s, got %s%n", s[0], quote(s[1].strip()), quote(s[2]));
    }

    private static void passkey(DeepSeekV3 m, Tokenizer tok, Scorecard sc, Options o, PrintStream log) {
        String name = "passkey retrieval";
        if (o.passkeyLengths().isEmpty() || o.passkeyTrials() <= 0) { sc.skipped(name, "no passkey lengths"); return; }
        long t0 = System.nanoTime();
        Passkey.Grid g = Passkey.run(m, tok, o.passkeyLengths(), o.passkeyDepths(), o.passkeyTrials(), o.seed());
        sc.passkey(g);
        double sum = 0;
        int cells = 0;
        for (double[] row : g.accuracy()) for (double a : row) if (!Double.isNaN(a)) { sum += a; cells++; }
        for (int li = 0; li < g.lengths().size(); li++) {
            double s = 0;
            int n = 0;
            for (double a : g.accuracy()[li]) if (!Double.isNaN(a)) { s += a; n++; }
            String metric = "passkey @ " + g.lengths().get(li);
            if (n == 0) sc.skipped(metric, "with the 8-token answer, beyond max_position_embeddings " + m.config.maxPositionEmbeddings());
            else sc.add(new Scorecard.Row(metric, s / n, "%", (long) n * g.trials(), n + " depths x " + g.trials() + " keys"));
        }
        log.printf(Locale.ROOT, "eval: passkey mean %.1f%% over %d cells (%.1f s)%n", cells == 0 ? Double.NaN : 100 * sum / cells, cells,
                (System.nanoTime() - t0) / 1e9);
    }

    private static void multipleChoice(DeepSeekV3 m, Tokenizer tok, Scorecard sc, Options o, PrintStream log) {
        String name = "multiple choice";
        if (o.mcFile() == null) { sc.skipped(name, "no --mc FILE.jsonl"); return; }
        List<MultipleChoice.Question> qs = MultipleChoice.read(o.mcFile());
        MultipleChoice.Result r = MultipleChoice.run(m, tok, qs, o.chunk());
        sc.add(new Scorecard.Row(name + " (acc)", r.accuracy(), "%", r.questions(), "argmax log p(choice | context), " + o.mcFile().getFileName()));
        sc.add(new Scorecard.Row(name + " (acc_norm)", r.accuracyNorm(), "%", r.questions(), "argmax log p per byte of the choice"));
        log.printf(Locale.ROOT, "eval: multiple choice %d/%d (%d/%d per byte)%n", r.correct(), r.questions(), r.correctNorm(), r.questions());
    }

    private static void arithmetic(DeepSeekV3 m, Tokenizer tok, Scorecard sc, Options o, PrintStream log) {
        String name = "arithmetic (greedy)";
        if (o.arithmeticPrompts() <= 0) { sc.skipped(name, "--arithmetic 0"); return; }
        ArithmeticTask task = ArithmeticTask.parse(o.arithmeticTask(), heldOutSeed(o.seed()));
        WeightedReward exact = new WeightedReward(List.of(new WeightedReward.Part(new ExactMatchReward(), 1)));
        RewardEval.Result r = RewardEval.run(m, tok, task, 0, o.arithmeticPrompts(), exact, 16, 0f, o.seed(), 0);
        sc.add(new Scorecard.Row(name, r.parts()[0], "%", r.prompts(), "exact answer, held-out draws of " + task.describe()));
        log.printf(Locale.ROOT, "eval: arithmetic %.1f%% exact on %d prompts%n", 100 * r.parts()[0], r.prompts());
    }

    /** The task seed of the held-out arithmetic prompts of {@code jseek grpo --seed S} (its --eval-prompts draws). */
    public static long heldOutSeed(long seed) { return seed + 1_000_003; }

    private static String quote(String s) {
        String t = s.replace("\n", "\\n");
        return "\"" + (t.length() > 70 ? t.substring(0, 70) + "..." : t) + "\"";
    }
}
