package dev.jseek.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code jseek train --ranks 2 --parallel pp=2 --schedule 1f1b|dualpipev} against the 1-rank run of the same global
 * batch (the oracle: {@code jseek train} without parallelism, 4 micro-batches of 2 sequences per step): every step's
 * loss within 1e-6 relative (the pipeline sums each stage's gradients over the ranks, so only the order of the
 * embedding's two parts differs; report §3.2.1). The DualPipeV run checkpoints at step 2 and is resumed on 1 rank to
 * step 4: checkpoints do not depend on the layout. Rank 0 alone writes the metrics. Layout mistakes give one line.
 */
class PipelineCliTest {
    @TempDir Path tmp;

    /** The schedules are scaled to 4 steps of 8 x 8 tokens whatever --steps is (the DualPipeV run stops at 2 and resumes). */
    static List<String> args(Path data, Path out, int steps, int batch) {
        return new ArrayList<>(List.of("train", "--data", data.toString(), "--out", out.toString(), "--preset", "tiny", "--steps", "" + steps,
                "--total-tokens", "256", "--seq-len", "8", "--micro-batch", "2", "--batch", "" + batch, "--lr", "3e-3", "--warmup-steps", "2", "--seed", "7", "--no-progress",
                "--no-plot", "--eval-every", "0", "--checkpoint-every", "2"));
    }

    Path prepare() throws Exception {
        Path corpus = Files.createDirectories(tmp.resolve("corpus"));
        for (int i = 0; i < 30; i++) Files.writeString(corpus.resolve("f" + i + ".txt"), ("the quick brown fox " + i + " jumps over the lazy dog. ").repeat(1 + i % 3));
        Path data = tmp.resolve("data");
        TrainCommandTest.Run r = TrainCommandTest.run("data", "prepare", "--corpus", "dir:" + corpus + "#txt", "--tokenizer", "bytes", "--out", data.toString(),
                "--val-fraction", "0", "--shard-tokens", "500", "--threads", "1", "--no-progress");
        assertEquals(0, r.code(), r.err());
        return data;
    }

    static TrainCommandTest.Run train(List<String> a, String... more) {
        List<String> all = new ArrayList<>(a);
        all.addAll(List.of(more));
        TrainCommandTest.Run r = TrainCommandTest.run(all.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        return r;
    }

    static void assertLossesClose(List<JsonNode> ref, List<JsonNode> got, String what) {
        assertEquals(ref.size(), got.size(), what + ": metrics lines");
        for (int i = 0; i < ref.size(); i++) {
            assertEquals(ref.get(i).get("step").asLong(), got.get(i).get("step").asLong(), what);
            for (String k : List.of("loss", "main_loss", "grad_norm")) {
                if (!ref.get(i).has(k)) continue;
                double a = ref.get(i).get(k).asDouble(), b = got.get(i).get(k).asDouble();
                assertTrue(Math.abs(a - b) <= 1e-6 * Math.abs(a), what + " step " + (i + 1) + " " + k + ": " + b + " vs 1 rank " + a);
            }
        }
    }

    @Test void pp2MatchesOneRankAndResumesOnOneRank() throws Exception {
        Path data = prepare();
        Path one = tmp.resolve("one"), f1b = tmp.resolve("1f1b"), v = tmp.resolve("dualpipev");
        train(args(data, one, 4, 8));
        List<JsonNode> ref = TrainKillTest.metrics(one);
        assertTrue(ref.getFirst().has("loss"), ref.getFirst().toString());

        TrainCommandTest.Run r = train(args(data, f1b, 4, 8), "--ranks", "2", "--parallel", "pp=2", "--schedule", "1f1b");
        assertTrue(r.out().contains("parallel   pipeline 1f1b over 2 ranks, 2 stages"), r.out());
        assertLossesClose(ref, TrainKillTest.metrics(f1b), "1f1b");
        // the 1F1B ranks' shards (each rank its stages' tensors) resumed on another pipeline layout: DualPipeV, 2 stages per rank
        Path cross = tmp.resolve("cross");
        train(args(data, cross, 4, 8), "--ranks", "2", "--parallel", "pp=2", "--schedule", "dualpipev", "--resume", f1b.resolve("step-2").toString());
        List<JsonNode> tail = TrainKillTest.metrics(cross);
        assertLossesClose(ref.subList(ref.size() - tail.size(), ref.size()), tail, "1f1b step 2 resumed as dualpipev");
        assertEquals(2, tail.size(), "steps 3 and 4 after the resume");

        r = train(args(data, v, 2, 8), "--ranks", "2", "--parallel", "pp=2", "--schedule", "dualpipev");
        assertTrue(r.out().contains("parallel   pipeline dualpipev over 2 ranks, 4 stages"), r.out());
        assertTrue(Files.isDirectory(v.resolve("step-2")), "rank 0 wrote the checkpoint");
        r = train(args(data, v, 4, 8), "--resume");                        // the pipeline's checkpoint, continued on 1 rank
        assertTrue(r.out().contains("resuming " + v.resolve("step-2")), r.out());
        assertLossesClose(ref, TrainKillTest.metrics(v), "dualpipev then 1 rank");
    }

    /** pp=2 x dp=2 x ep=2 on 8 thread ranks (ZeRO-1 over each stage's 4 ranks), checkpointed at step 2 and finished on 1 rank. */
    @Test void pp2Dp2Ep2OnEightRanksMatchesOneRankAndResumesOnOneRank() throws Exception {
        Path data = prepare();
        Path one = tmp.resolve("one"), combo = tmp.resolve("combo");
        train(args(data, one, 4, 8));
        List<JsonNode> ref = TrainKillTest.metrics(one);
        TrainCommandTest.Run r = train(args(data, combo, 2, 8), "--ranks", "8", "--parallel", "pp=2,dp=2,ep=2", "--schedule", "1f1b");
        assertTrue(r.out().contains("parallel   pipeline 1f1b over 2 ranks, 2 stages"), r.out());
        assertTrue(r.out().contains("layout pp=2 x dp=2 x ep=2 (8 ranks"), r.out());
        assertTrue(r.out().contains("the AdamW moments of its own stages' tensors, 1/4 of them (ZeRO-1 over its stage's ranks)"), r.out());
        assertTrue(r.out().contains("rank  stage floats  params MiB  grads MiB  optimizer MiB"), r.out());
        assertTrue(Files.isDirectory(combo.resolve("step-2")), "rank 0 wrote the checkpoint");
        r = train(args(data, combo, 4, 8), "--resume");
        assertTrue(r.out().contains("resuming " + combo.resolve("step-2")), r.out());
        assertLossesClose(ref, TrainKillTest.metrics(combo), "pp2 dp2 ep2 then 1 rank");
    }

    @Test void pipelineMistakesAreOneLine() throws Exception {
        Path data = tmp.resolve("nodata");
        String[][] cases = {
                {"--ranks", "2", "--parallel", "pp=2", "--schedule", "gpipe"},
                {"--ranks", "3", "--parallel", "pp=2"},
                {"--ranks", "4", "--parallel", "pp=2"},
                {"--ranks", "2", "--parallel", "pp=2,dp=2"},
                {"--ranks", "4", "--parallel", "pp=2,dp=2"},
                {"--ranks", "4", "--parallel", "pp=2,ep=2,ranks-per-node=1,max-nodes=3"},
                {"--ranks", "2", "--schedule", "1f1b"},
                {"--ranks", "2", "--parallel", "pp=2", "--schedule", "dualpipev"},
                {"--ranks", "2", "--parallel", "pp=2", "--schedule", "dualpipe"},
        };
        String[] want = {
                "jseek: --schedule: unknown schedule 'gpipe' (use 1f1b, zb1p, dualpipe, dualpipev)",
                "jseek: --parallel pp=2 needs 2 ranks, but --ranks is 3 (give --ranks 2)",
                "jseek: --parallel pp=2 needs 2 ranks, but --ranks is 4 (give --ranks 2)",
                "jseek: --parallel pp=2,dp=2 needs 4 ranks, but --ranks is 2 (give --ranks 4)",
                "jseek: --parallel pp=2,dp=2 --schedule 1f1b: 3 micro-batches do not split evenly over the 2 pipeline replicas (dp x ep) (a step of --batch 6 / --micro-batch 2 = 3 micro-batches)",
                "jseek: --parallel pp=2,ep=2,ranks-per-node=1,max-nodes=3: max-nodes=3 exceeds the 2 nodes of ep=2",
                "jseek: --schedule 1f1b needs --parallel pp=N (pipeline parallel)",
                "jseek: --parallel pp=2 --schedule dualpipev: dualpipev needs micro-batches >= 2 x ranks = 4, got 2 (a step of --batch 4 / --micro-batch 2 = 2 micro-batches)",
                "jseek: --parallel pp=2 --schedule dualpipe: dualpipe needs an even number of micro-batches >= 2 pp = 4, got 3 (a step of --batch 6 / --micro-batch 2 = 3 micro-batches)",
        };
        for (int i = 0; i < cases.length; i++) {
            List<String> a = args(data, tmp.resolve("o" + i), 3, i == 7 ? 4 : i == 8 || i == 4 ? 6 : 8);
            a.addAll(List.of(cases[i]));
            TrainCommandTest.Run r = TrainCommandTest.run(a.toArray(String[]::new));
            assertEquals(2, r.code(), String.join(" ", cases[i]) + "\n" + r.out() + r.err());
            assertEquals(want[i], r.err().strip(), String.join(" ", cases[i]));
        }
    }
}
