package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Expert parallel with expert-sharded arenas ({@link ExpertShard}): each rank's model holds only its own routed
 * experts, so their parameters, gradients and AdamW moments shrink by the group size. Oracle: the same run with every
 * rank holding every expert ({@link ExpertParallelTest}, itself checked against one rank). The two are bit-identical,
 * not just close: the forward and backward run the same kernels on the same rows, an expert's gradient is summed over
 * the ranks of its index in rank order either way (in the full arena the other ranks add exact zeros), AdamW is
 * element-wise, and the global norm adds the same per-tensor partials in the whole model's tensor order. Checked for
 * EP2, EP4 and DP2xEP2: losses, norms, loads and every weight (assembled by name), and the arena sizes.
 */
class ExpertShardTest {
    @Test void shardedExpertsAreBitwiseTheFullArenaRunAndShrinkByTheGroup() {
        TrainModel whole = new TrainModel(Harness.tinyMoe(), 1, 1);
        int all = whole.params().length, experts = 0;
        for (ParamLayout.Entry e : whole.layout().entries()) if (ExpertShard.expertOf(e.name()) >= 0) experts += e.size();
        assertTrue(experts > 0);
        for (int[] layout : new int[][] {{2, 2}, {4, 4}, {4, 2}}) {
            int ranks = layout[0], group = layout[1], sequences = 2 * ranks;
            String name = ranks == group ? "EP" + group : "DP" + ranks / group + "xEP" + group;
            List<ExpertParallelTest.EpRun> full = ExpertParallelTest.ep(ranks, group, sequences);
            List<ExpertParallelTest.EpRun> sharded = ExpertParallelTest.ep(ranks, group, sequences, 0, 0, true);
            DataParallelTest.assertBitwise(full.get(0).run(), new DataParallelTest.Run(sharded.get(0).run().steps(), assemble(whole, sharded)));
            long shards = 0;
            for (int r = 0; r < ranks; r++) {
                TrainModel m = sharded.get(r).model();
                assertEquals(all - experts + experts / group, m.params().length, name + " rank " + r + ": parameters held");
                assertEquals(m.params().length, m.grads().length, name + " rank " + r + ": gradients held");
                assertEquals(all - experts, m.layout().sharedEnd());
                shards += sharded.get(r).shardFloats();
                for (ParamLayout.Entry e : m.layout().entries()) {
                    int x = ExpertShard.expertOf(e.name());
                    if (x >= 0) assertEquals(r % group, x / (Harness.tinyMoe().nRoutedExperts() / group), name + " rank " + r + " holds " + e.name());
                }
            }
            assertEquals(all, shards, name + ": every tensor's AdamW moments live on exactly one rank");
        }
    }

    /**
     * A rank's model laid out for one micro-batch, its routed experts for what the rank can receive
     * ({@link Moe#expertRows}: G ranks x min(K, E/G) rows per token), runs the worst case: routing biases of +100 on
     * rank 0's experts (0 and 1 of 8, groups of 2) send every token's top-2 there, so rank 0 receives exactly that
     * bound from each of the 4 ranks. Oracle: one rank with the same biases on all 8 sequences (within 1e-6
     * relative, as {@link ExpertParallelTest}). The activation arena is then smaller than with the group's rows
     * everywhere (maxBatch x G, the layout before).
     */
    @Test void aRankLaidOutForWhatItCanReceiveRunsTheWorstCase() {
        int ranks = 4, sequences = 8;
        var c = Harness.tinyMoe();
        List<ExpertParallelTest.EpRun> runs = dev.jseek.parallel.ThreadRanks.run(ranks, java.util.concurrent.TimeUnit.SECONDS.toNanos(120), comm -> {
            TrainModel tm = new TrainModel(c, TrainModelLoopTest.ROWS, TrainModelLoopTest.T, true, Precision.FP32,
                    new ExpertShard(ranks, comm.rank(), c.nRoutedExperts()));
            tm.initRandom(1, 0.1f);
            skew(tm);
            tm.setExpertParallel(comm, ranks);
            TrainModelTrainable m = new TrainModelTrainable(tm);
            List<StepMetrics> l = new java.util.ArrayList<>();
            try (Trainer<TokenBatch> t = new Trainer<>(m, new TrainModelLoopTest.PatternSource(c.vocabSize()), DataParallelTest.cfg(sequences, null), comm)) {
                t.addListener(l::add);
                t.train(ExpertParallelTest.STEPS);
            }
            return new ExpertParallelTest.EpRun(new DataParallelTest.Run(l, m.params().clone()), null, tm, 0);
        });
        TrainModel one = new TrainModel(c, 2 * TrainModelLoopTest.ROWS, TrainModelLoopTest.T);
        one.initRandom(1, 0.1f);
        skew(one);
        TrainModelTrainable m = new TrainModelTrainable(one);
        List<StepMetrics> l = new java.util.ArrayList<>();
        try (Trainer<TokenBatch> t = new Trainer<>(m, new TrainModelLoopTest.PatternSource(c.vocabSize()), DataParallelTest.cfg(sequences, null))) {
            t.addListener(l::add);
            t.train(ExpertParallelTest.STEPS);
        }
        DataParallelTest.Run ref = new DataParallelTest.Run(l, null);
        for (int s = 0; s < ref.steps().size(); s++)
            assertEquals(ref.steps().get(s).losses().total(), runs.get(0).run().steps().get(s).losses().total(),
                    1e-6 * Math.abs(ref.steps().get(s).losses().total()), "step " + (s + 1) + " loss");
        int n = TrainModelLoopTest.ROWS * TrainModelLoopTest.T, bound = (int) Moe.expertRows(n, c.numExpertsPerTok(), c.nRoutedExperts(),
                new ExpertShard(ranks, 0, c.nRoutedExperts()));
        assertEquals(n * 8, bound, "4 ranks x min(K = 3, 8 / 4 = 2) rows per token");
        assertEquals(bound, runs.get(0).model().moes().getFirst().expertParallel().received(), "rank 0 received the most it can");
        for (Moe moe : runs.get(1).model().moes()) assertTrue(moe.expertParallel().received() < bound);
        TrainModel before = new TrainModel(c, TrainModelLoopTest.ROWS * ranks, TrainModelLoopTest.T, true, Precision.FP32,
                new ExpertShard(ranks, 0, c.nRoutedExperts()));
        assertTrue(runs.get(0).model().activationBytes() < before.activationBytes(),
                runs.get(0).model().activationBytes() + " activation bytes, " + before.activationBytes() + " with the group's rows everywhere");
        assertTrue(runs.get(0).model().expertExchangeBytes() > 0);
    }

    /** Routing biases +100 on experts 0 and 1 of every MoE layer (rank 0's under EP4). */
    private static void skew(TrainModel tm) {
        for (ParamLayout.Entry e : tm.layout().entries())
            if (e.name().endsWith("mlp.gate.e_score_correction_bias")) { tm.params()[e.offset()] += 100; tm.params()[e.offset() + 1] += 100; }
    }

    /**
     * Checkpoints across layouts: DP2xEP2 (4 ranks, sharded experts) writes per-rank shards at step 2; EP2 resumes
     * them (its step 3 loss is the uninterrupted DP2xEP2 run's, bit for bit: a step's loss is a forward of the same
     * weights, and the forward has the same bits on every layout) and writes step 3; one rank resumes that (its step
     * 4 loss is EP2's uninterrupted step 4, bit for bit). A missing shard and a manifest that disagrees with the files
     * are refused naming the file and the field.
     */
    @Test void aShardedCheckpointResumesOnAnotherLayout(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        java.nio.file.Path u = tmp.resolve("dp2ep2"), e = tmp.resolve("ep2");
        List<ExpertParallelTest.EpRun> full = ExpertParallelTest.ep(4, 2, 8, 0, 0, true, u, 2, null, 3);
        java.nio.file.Path s2 = u.resolve("step-2");
        for (String f : List.of("model-rank-3-of-4.safetensors", "optimizer-rank-0-of-4.safetensors", "model.safetensors.index.json", "manifest.json"))
            assertTrue(java.nio.file.Files.isRegularFile(s2.resolve(f)), f);
        List<ExpertParallelTest.EpRun> ep2 = ExpertParallelTest.ep(2, 2, 8, 0, 0, true, e, 3, s2, 4);
        assertEquals(2, ep2.get(0).run().steps().size());
        assertEquals(full.get(0).run().steps().get(2).losses(), ep2.get(0).run().steps().get(0).losses(), "step 3 after DP2xEP2 -> EP2");
        DataParallelTest.Run one = DataParallelTest.single(8, null, e.resolve("step-3"), 4);
        assertEquals(1, one.steps().size());
        assertEquals(ep2.get(0).run().steps().get(1).losses(), one.steps().get(0).losses(), "step 4 after EP2 -> 1 rank");

        // a shard missing, a manifest that disagrees with its files
        java.nio.file.Path bad = tmp.resolve("bad");
        copy(s2, bad.resolve("step-2"));
        java.nio.file.Files.delete(bad.resolve("step-2").resolve("optimizer-rank-1-of-4.safetensors"));
        var ex = assertThrows(dev.jseek.io.FormatException.class, () -> DataParallelTest.single(8, null, bad.resolve("step-2"), 3));
        assertEquals(bad.resolve("step-2").resolve("optimizer-rank-1-of-4.safetensors") + ": listed in the manifest but missing", ex.getMessage());
        copy(s2, bad.resolve("step-2"));
        java.nio.file.Path mf = bad.resolve("step-2").resolve("manifest.json");
        java.nio.file.Files.writeString(mf, java.nio.file.Files.readString(mf).replace("\"optimizer\" : \"optimizer-rank-2-of-4.safetensors\"",
                "\"optimizer\" : \"optimizer-rank-9-of-4.safetensors\""));
        ex = assertThrows(dev.jseek.io.FormatException.class, () -> DataParallelTest.single(8, null, bad.resolve("step-2"), 3));
        assertEquals(mf + ": field shards[2].optimizer names 'optimizer-rank-9-of-4.safetensors', which field files does not list", ex.getMessage());
        copy(s2, bad.resolve("step-2"));
        java.nio.file.Files.writeString(mf, java.nio.file.Files.readString(mf).replace("\"ranks\" : 4", "\"ranks\" : 2"));
        ex = assertThrows(dev.jseek.io.FormatException.class, () -> DataParallelTest.single(8, null, bad.resolve("step-2"), 3));
        assertEquals(mf + ": field shards has 4 entries, field layout.ranks says 2", ex.getMessage());
    }

    private static void copy(java.nio.file.Path from, java.nio.file.Path to) throws java.io.IOException {
        if (java.nio.file.Files.exists(to)) try (var w = java.nio.file.Files.walk(to)) {
            for (var p : w.sorted(java.util.Comparator.reverseOrder()).toList()) java.nio.file.Files.delete(p);
        }
        java.nio.file.Files.createDirectories(to);
        try (var l = java.nio.file.Files.list(from)) {
            for (var p : l.toList()) java.nio.file.Files.copy(p, to.resolve(p.getFileName()));
        }
    }

    /** The whole model's parameters in {@code whole}'s layout, each tensor taken from a rank that holds it (checking every holder agrees). */
    static float[] assemble(TrainModel whole, List<ExpertParallelTest.EpRun> runs) {
        float[] out = new float[whole.params().length];
        for (ParamLayout.Entry e : whole.layout().entries()) {
            float[] seen = null;
            for (ExpertParallelTest.EpRun r : runs) {
                ParamLayout pl = r.model().layout();
                if (!pl.contains(e.name())) continue;
                float[] v = java.util.Arrays.copyOfRange(r.run().params(), pl.offset(e.name()), pl.offset(e.name()) + e.size());
                if (seen != null) assertArrayEquals(seen, v, e.name() + ": its holders disagree");
                seen = v;
            }
            assertNotNull(seen, e.name() + " is held by no rank");
            System.arraycopy(seen, 0, out, e.offset(), e.size());
        }
        return out;
    }
}
