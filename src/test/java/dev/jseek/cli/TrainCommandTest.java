package dev.jseek.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jseek.io.Checkpoint;
import dev.jseek.model.ModelConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** jseek data prepare + jseek train end to end: checkpoints, metrics, and --resume equal to a straight run byte for byte. */
class TrainCommandTest {
    @TempDir Path tmp;

    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        CommandLine cl = Jseek.commandLine();
        StringWriter err = new StringWriter(), out = new StringWriter();
        cl.setErr(new PrintWriter(err));
        cl.setOut(new PrintWriter(out));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    Path prepare() throws IOException {
        Path corpus = Files.createDirectories(tmp.resolve("corpus"));
        for (int i = 0; i < 30; i++) Files.writeString(corpus.resolve("f" + i + ".txt"), ("the quick brown fox " + i + " jumps over the lazy dog. ").repeat(1 + i % 3));
        Path data = tmp.resolve("data");
        Run r = run("data", "prepare", "--corpus", "dir:" + corpus + "#txt", "--tokenizer", "bytes", "--out", data.toString(),
                "--val-fraction", "0", "--fim-rate", "0.1", "--shard-tokens", "500", "--threads", "1", "--no-progress");
        assertEquals(0, r.code(), r.err());
        return data;
    }

    static String[] train(Path data, Path out, int steps, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--data", data.toString(), "--out", out.toString(), "--preset", "tiny",
                "--steps", Integer.toString(steps), "--seq-len", "8", "--micro-batch", "2", "--batch", "4", "--batch-start", "2",
                "--batch-ramp-tokens", "32", "--lr", "3e-3", "--warmup-steps", "2", "--ema-decay", "0.9", "--bf16-moments",
                "--checkpoint-every", "2", "--keep", "5", "--seed", "7", "--no-progress"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    @Test
    void trainsCheckpointsAndResumesIdentically() throws Exception {
        Path data = prepare();
        Path a = tmp.resolve("a"), b = tmp.resolve("b");
        Run ra = run(train(data, a, 5));
        assertEquals(0, ra.code(), ra.err());
        assertTrue(ra.out().contains("trained steps 1..5"), ra.out());
        try (var s = Files.list(a)) {
            assertEquals(List.of("loss-curves.html", "loss-curves.png", "metrics.jsonl", "step-2", "step-4", "step-5"),
                    s.map(p -> p.getFileName().toString()).sorted().toList());
        }
        List<String> lines = Files.readAllLines(a.resolve("metrics.jsonl"));
        assertEquals(5, lines.size());
        var first = new ObjectMapper().readTree(lines.get(0));
        assertEquals(2, first.get("sequences").asInt());
        assertEquals(16, first.get("tokens").asLong());
        assertEquals(4, new ObjectMapper().readTree(lines.get(4)).get("sequences").asInt());
        assertTrue(first.get("max_vio").isArray() && first.get("mtp_loss").asDouble() > 0, lines.get(0));
        // the checkpoint is a model directory that inference reads
        ModelConfig c = ModelConfig.load(a.resolve("step-5/config.json"));
        try (Checkpoint ck = Checkpoint.open(a.resolve("step-5"))) {
            assertTrue(ck.has("model.layers.1.mlp.gate.e_score_correction_bias"));
            assertEquals(c.vocabSize(), ck.info("model.embed_tokens.weight").dim(0));
        }
        // b: 3 steps, then --resume (newest checkpoint in --out) to 5: same files as a straight run
        assertEquals(0, run(train(data, b, 3)).code());
        Run rb = run(train(data, b, 5, "--resume"));
        assertEquals(0, rb.code(), rb.err());
        assertTrue(rb.out().contains("trained steps 4..5"), rb.out());
        for (String f : List.of("model.safetensors", "optimizer.safetensors", "ema.safetensors", "trainer_state.json"))
            assertArrayEquals(Files.readAllBytes(a.resolve("step-5").resolve(f)), Files.readAllBytes(b.resolve("step-5").resolve(f)), f);
        assertEquals(5, Files.readAllLines(b.resolve("metrics.jsonl")).size());
    }

    @Test
    void fp8TrainingCachesActivationsUsesBf16MomentsAndResumesIdentically() throws Exception {
        Path data = prepare();
        Path a = tmp.resolve("a8"), b = tmp.resolve("b8");
        java.util.function.BiFunction<Path, Integer, String[]> fp8 = (out, steps) -> java.util.Arrays.stream(train(data, out, steps, "--precision", "fp8"))
                .filter(x -> !x.equals("--bf16-moments")).toArray(String[]::new);
        Run ra = run(fp8.apply(a, 4));
        assertEquals(0, ra.code(), ra.err());
        assertTrue(ra.out().contains("BF16 moments") && ra.out().contains("precision  FP8") && ra.out().contains("+ FP8 cache"), ra.out());
        assertEquals(0, run(fp8.apply(b, 2)).code());
        String[] resume = java.util.Arrays.copyOf(fp8.apply(b, 4), fp8.apply(b, 4).length + 1);
        resume[resume.length - 1] = "--resume";
        Run rb = run(resume);
        assertEquals(0, rb.code(), rb.err());
        for (String f : List.of("model.safetensors", "optimizer.safetensors", "trainer_state.json"))
            assertArrayEquals(Files.readAllBytes(a.resolve("step-4").resolve(f)), Files.readAllBytes(b.resolve("step-4").resolve(f)), f);
        Run bad = run(train(data, tmp.resolve("o8"), 2, "--moments", "fp16"));
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--moments: unknown value 'fp16' (use auto, fp32 or bf16)"), bad.err());
    }

    @Test
    void badOptionsAreUserErrors() throws Exception {
        Run r = run("train", "--data", tmp.resolve("nope").toString(), "--out", tmp.resolve("o").toString(), "--preset", "tiny", "--steps", "2", "--no-progress");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("nope") && r.err().contains("prepared token directory"), r.err());
        Path data = prepare();
        r = run("train", "--data", data.toString(), "--out", tmp.resolve("o").toString(), "--preset", "tiny", "--steps", "2",
                "--micro-batch", "2", "--batch", "5", "--no-progress");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--batch 5 must be a positive multiple of --micro-batch 2"), r.err());
        r = run(train(data, tmp.resolve("o"), 2, "--lr-schedule", "0; linear 10x 1"));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--lr-schedule") && r.err().contains("'10x'"), r.err());
        r = run(train(data, tmp.resolve("o"), 2, "--precision", "fp4"));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--precision: unknown value 'fp4' (use fp32, bf16 or fp8)"), r.err());
        r = run(train(data, tmp.resolve("o"), 2, "--resume"));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("no valid checkpoint"), r.err());
        // issue 10 §9: numbers that are not learning rates are one line each, not a stack trace
        for (String[] bad : new String[][] {{"--lr", "NaN"}, {"--lr", "Infinity"}, {"--lr", "-1"}, {"--eps", "0"},
                {"--weight-decay", "NaN"}, {"--ema-decay", "1"}, {"--init-std", "-0.1"}, {"--clip", "NaN"}}) {
            List<String> args = new ArrayList<>(List.of(train(data, tmp.resolve("o"), 2)));
            int at = args.indexOf(bad[0]);
            if (at >= 0) args.set(at + 1, bad[1]); else args.addAll(List.of(bad));
            r = run(args.toArray(String[]::new));
            assertEquals(2, r.code(), String.join(" ", bad) + ": " + r.err());
            assertTrue(r.err().startsWith("jseek: " + bad[0] + " must be") && r.err().strip().lines().count() == 1, r.err());
            assertFalse(r.err().contains("Exception"), r.err());
        }
        // a learning rate that blows the model up: the stop message names what is not finite, not a finite loss
        List<String> huge = new ArrayList<>(List.of(train(data, tmp.resolve("huge"), 4, "--on-nonfinite", "stop")));
        huge.set(huge.indexOf("--lr") + 1, "1e6");
        r = run(huge.toArray(String[]::new));
        assertEquals(2, r.code(), r.err());
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("non-finite (loss|gradient norm) (\\S+)").matcher(r.err());
        assertTrue(m.find(), r.err());
        if (m.group(1).equals("loss")) assertFalse(Double.isFinite(Double.parseDouble(m.group(2))), r.err());
        else assertTrue(r.err().contains("is finite"), r.err());
    }

    /**
     * issue 10 §5: a new run into a directory that holds a run is refused before anything is written (before, it cut
     * metrics.jsonl and its checkpoints were pruned in favour of the old run's); --resume=auto continues a run when
     * there is a checkpoint and starts one when there is none, so a restart loop uses one command.
     */
    @Test
    void aNewRunRefusesAnExistingRunAndResumeAutoContinuesOrStarts() throws Exception {
        Path data = prepare();
        Path a = tmp.resolve("r");
        assertEquals(0, run(train(data, a, 3)).code());
        byte[] metrics = Files.readAllBytes(a.resolve("metrics.jsonl"));
        List<String> before;
        try (var s = Files.list(a)) { before = s.map(p -> p.getFileName().toString()).sorted().toList(); }
        Run r = run(train(data, a, 2));
        assertEquals(2, r.code(), r.err());
        assertEquals("jseek: --out " + a + " already holds a training run: 2 checkpoints (newest step-3) and metrics.jsonl; "
                + "continue it with --resume (or --resume=auto), or give a new --out", r.err().strip());
        assertArrayEquals(metrics, Files.readAllBytes(a.resolve("metrics.jsonl")));
        try (var s = Files.list(a)) { assertEquals(before, s.map(p -> p.getFileName().toString()).sorted().toList()); }
        Run auto = run(train(data, a, 5, "--resume=auto"));
        assertEquals(0, auto.code(), auto.err());
        assertTrue(auto.out().contains("trained steps 4..5"), auto.out());
        Run fresh = run(train(data, tmp.resolve("fresh"), 2, "--resume=auto"));
        assertEquals(0, fresh.code(), fresh.err());
        assertTrue(fresh.out().contains("trained steps 1..2"), fresh.out());
    }

    /** Documents of a corpus with a validation split and no FIM: val tokens = UTF-8 bytes + one EOS per document. */
    static List<String> texts() {
        List<String> t = new ArrayList<>();
        for (int i = 0; i < 40; i++) t.add(("über " + i + " the quick brown fox jumps. ").repeat(1 + i % 4));
        return t;
    }

    Path prepareWithVal() throws IOException {
        Path corpus = Files.createDirectories(tmp.resolve("vcorpus"));
        List<String> t = texts();
        for (int i = 0; i < t.size(); i++) Files.writeString(corpus.resolve(String.format("f%02d.txt", i)), t.get(i));
        Path data = tmp.resolve("vdata");
        Run r = run("data", "prepare", "--corpus", "dir:" + corpus + "#txt", "--tokenizer", "bytes", "--out", data.toString(),
                "--val-fraction", "0.3", "--fim-rate", "0", "--seed", "3", "--shard-tokens", "100000", "--threads", "1", "--no-progress");
        assertEquals(0, r.code(), r.err());
        return data;
    }

    @Test
    void validationSettingsSummaryAndPlots() throws Exception {
        Path data = prepareWithVal();
        long bytes = 0, docs = 0;
        for (String t : texts())
            if (dev.jseek.data.Split.of(t, 3, 0.3) == dev.jseek.data.Split.VAL) {
                bytes += t.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
                docs++;
            }
        assertTrue(docs >= 5, "val documents " + docs);
        double bytesPerToken = (double) bytes / (bytes + docs); // bytes tokenizer: one token per byte + EOS per document
        Path out = tmp.resolve("v");
        Run r = run("train", "--data", data.toString(), "--out", out.toString(), "--preset", "tiny", "--steps", "5", "--seq-len", "8",
                "--micro-batch", "2", "--batch", "4", "--lr", "3e-3", "--warmup-steps", "2", "--eval-every", "2", "--eval-batches", "3",
                "--seed", "7", "--no-progress");
        assertEquals(0, r.code(), r.err());
        for (String k : List.of("params", "active per token", "tokens/step", "= 32 tokens/step", "lr         0; linear 2s 0.003", "gamma", "lambda",
                "sequence-wise loss, alpha 1.0E-4", "AdamW beta1 0.9 beta2 0.95", "every 2 steps and at the end, 3 val batches (48 tokens)",
                String.format(java.util.Locale.ROOT, "(%.3f bytes/token)", bytesPerToken), "trained steps 1..5", "final train loss", "validation loss",
                "bits/byte at step 5", "loss-curves.png"))
            assertTrue(r.out().contains(k), "output lacks '" + k + "':\n" + r.out());
        List<String> lines = Files.readAllLines(out.resolve("metrics.jsonl"));
        ObjectMapper json = new ObjectMapper();
        for (int i = 0; i < 5; i++) {
            var m = json.readTree(lines.get(i));
            boolean eval = i == 1 || i == 3 || i == 4;
            assertEquals(eval, m.has("val_loss"), "step " + (i + 1));
            if (eval) assertEquals(m.get("val_loss").asDouble() / (Math.log(2) * bytesPerToken), m.get("val_bpb").asDouble(), 1e-12);
        }
        java.awt.image.BufferedImage im = javax.imageio.ImageIO.read(out.resolve("loss-curves.png").toFile());
        assertEquals(1200, im.getWidth());
        assertEquals(1000, im.getHeight());
        Files.delete(out.resolve("loss-curves.png"));
        Run p = run("train", "plot", "--run", out.toString(), "--width", "640", "--height", "480");
        assertEquals(0, p.code(), p.err());
        assertTrue(p.out().contains("loss-curves.png"), p.out());
        assertEquals(640, javax.imageio.ImageIO.read(out.resolve("loss-curves.png").toFile()).getWidth());
        assertTrue(Files.readString(out.resolve("loss-curves.html")).contains("validation CE"));
        Run bad = run("train", "plot", "--run", tmp.resolve("none").toString());
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("no metrics.jsonl"), bad.err());
        Run none = run("train");
        assertEquals(2, none.code());
        assertTrue(none.err().contains("needs --data, --out and --steps"), none.err());
    }

    /** --no-recompute keeps every activation: the settings print says so, and the trained weights are the same bits. */
    @Test
    void noRecomputeGivesTheSameRun() throws Exception {
        Path data = prepare();
        String[] common = {"train", "--data", data.toString(), "--preset", "tiny", "--steps", "2", "--seq-len", "8",
                "--micro-batch", "2", "--batch", "2", "--seed", "7", "--no-progress", "--no-plot"};
        List<String> on = new ArrayList<>(List.of(common)), off = new ArrayList<>(List.of(common));
        on.addAll(List.of("--out", tmp.resolve("on").toString()));
        off.addAll(List.of("--out", tmp.resolve("off").toString(), "--no-recompute"));
        Run a = run(on.toArray(String[]::new)), b = run(off.toArray(String[]::new));
        assertEquals(0, a.code(), a.err());
        assertEquals(0, b.code(), b.err());
        assertTrue(a.out().contains("recompute  on"), a.out());
        assertTrue(b.out().contains("recompute  off (--no-recompute)"), b.out());
        assertArrayEquals(Files.readAllBytes(tmp.resolve("on/step-2/model.safetensors")), Files.readAllBytes(tmp.resolve("off/step-2/model.safetensors")));
    }

    /** Options from a picocli argument file give the same run as on the command line. */
    @Test
    void optionsFromAnArgumentFile() throws Exception {
        Path data = prepare();
        Path args = tmp.resolve("train.args");
        Files.write(args, List.of("# a tiny run", "--data", data.toString(), "--preset", "tiny", "--steps", "2", "--seq-len", "8",
                "--micro-batch", "2", "--batch", "2", "--seed", "7", "--no-progress", "--no-plot"));
        Run a = run("train", "@" + args, "--out", tmp.resolve("fa").toString());
        assertEquals(0, a.code(), a.err());
        Run b = run("train", "--data", data.toString(), "--preset", "tiny", "--steps", "2", "--seq-len", "8", "--micro-batch", "2", "--batch", "2",
                "--seed", "7", "--no-progress", "--no-plot", "--out", tmp.resolve("fb").toString());
        assertEquals(0, b.code(), b.err());
        assertArrayEquals(Files.readAllBytes(tmp.resolve("fa/step-2/model.safetensors")), Files.readAllBytes(tmp.resolve("fb/step-2/model.safetensors")));
    }

    @Test
    void balanceExperimentTrainsThreeVariants() throws Exception {
        Path data = prepareWithVal();
        Path out = tmp.resolve("bal");
        Run r = run("train", "balance-experiment", "--data", data.toString(), "--out", out.toString(), "--preset", "tiny", "--steps", "5",
                "--seq-len", "8", "--micro-batch", "2", "--batch", "4", "--lr", "3e-3", "--warmup-steps", "2", "--eval-batches", "2",
                "--no-progress", "--no-plot");
        assertEquals(0, r.code(), r.err());
        String md = Files.readString(out.resolve("balance-experiment.md"));
        assertTrue(md.contains("| aux-free | gamma 0.001, no balance loss |"), md);
        assertTrue(md.contains("| aux-loss | gamma 0, classic batch-wise aux loss alpha 0.01 |"), md);
        assertTrue(md.contains("| none | gamma 0, no balance loss |"), md);
        assertTrue(md.contains("Command: `jseek train balance-experiment --data"), md);
        // each variant prints the equivalent jseek train command line (the pass-through options last)
        assertTrue(r.out().contains("== variant aux-loss (gamma 0, classic batch-wise aux loss alpha 0.01): jseek train --data " + data + " --out "
                + out.resolve("aux-loss") + " --preset tiny --steps 5 --seed 1 --eval-every 5 --gamma-schedule 0 --balance-alpha 0.01"
                + " --balance-loss batch --seq-len 8 --micro-batch 2 --batch 4 --lr 3e-3 --warmup-steps 2 --eval-batches 2 --no-progress --no-plot\n"), r.out());
        ObjectMapper json = new ObjectMapper();
        var free = json.readTree(Files.readAllLines(out.resolve("aux-free/metrics.jsonl")).get(4));
        var aux = json.readTree(Files.readAllLines(out.resolve("aux-loss/metrics.jsonl")).get(4));
        var none = json.readTree(Files.readAllLines(out.resolve("none/metrics.jsonl")).get(4));
        assertEquals(0.001, free.get("gamma").asDouble());
        assertEquals(0.0, free.get("balance_loss").asDouble());
        assertEquals(0.0, aux.get("gamma").asDouble());
        assertTrue(aux.get("balance_loss").asDouble() > 0);
        assertEquals(0.0, none.get("gamma").asDouble());
        assertEquals(0.0, none.get("balance_loss").asDouble());
        // the table's MaxVio = mean over layers of max_vio at the last 20% of steps (step 5 only)
        double mean = 0;
        for (var v : none.get("max_vio")) mean += v.asDouble() / none.get("max_vio").size();
        assertTrue(md.contains(String.format(java.util.Locale.ROOT, "| %.3f | %.3f |", mean, mean)), md);
        assertTrue(md.contains(String.format(java.util.Locale.ROOT, "| %.4f |", none.get("val_loss").asDouble())), md);
        Run bad = run("train", "balance-experiment", "--data", data.toString(), "--out", out.toString(), "--steps", "5", "--balance-alpha", "1");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("sets --balance-alpha itself"), bad.err());
    }
}
