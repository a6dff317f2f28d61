package dev.jseek.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jseek.io.Checkpoint;
import dev.jseek.model.ModelConfig;
import dev.jseek.model.Presets;
import dev.jseek.train.ExtensionStage;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code jseek train --init-from ... --yarn-factor}: a context-extension stage (report §4.3). */
class ExtensionStageCommandTest {
    @TempDir Path tmp;

    @Test void configGetsTheReportsYarnSettings() {
        ModelConfig c = ExtensionStage.report(1024, 16, 256).apply(Presets.get("small"));
        ModelConfig.RopeScaling y = c.ropeScaling();
        assertEquals("yarn", y.type());
        assertEquals(16, y.factor());
        assertEquals(256, y.originalMaxPositionEmbeddings());
        assertEquals(32, y.betaFast());
        assertEquals(1, y.betaSlow());
        assertEquals(1.0, y.mscale());
        assertEquals(1.0, y.mscaleAllDim());
        assertEquals(4096, c.maxPositionEmbeddings());
        // sqrt(t) = 0.1 ln 16 + 1 = 1.27726; the softmax scale is qk_head_dim^-0.5 t
        double m = 0.1 * Math.log(16) + 1;
        assertEquals(m * m / Math.sqrt(c.qkHeadDim()), c.softmaxScale(), 1e-12);
        // never lowers max_position_embeddings; the stage's length must fit
        assertEquals(1024, ExtensionStage.report(256, 2, 64).apply(Presets.get("small")).maxPositionEmbeddings());
        assertThrows(IllegalArgumentException.class, () -> ExtensionStage.report(8192, 16, 256).apply(Presets.get("small")));
        assertThrows(IllegalArgumentException.class, () -> new ExtensionStage(512, 0.5, 256, 32, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new ExtensionStage(512, 4, 256, 1, 32, 1));
    }

    /** With learning rate 0 and no bias updates the stage's checkpoint holds the --init-from weights bit for bit, under the YaRN config. */
    @Test void stageContinuesTheCheckpointWithTheNewConfig() throws Exception {
        Path corpus = Files.createDirectories(tmp.resolve("corpus"));
        for (int i = 0; i < 20; i++) Files.writeString(corpus.resolve("f" + i + ".txt"), ("the quick brown fox " + i + " jumps over the lazy dog. ").repeat(4));
        Path data = tmp.resolve("data");
        TrainCommandTest.Run r = TrainCommandTest.run("data", "prepare", "--corpus", "dir:" + corpus + "#txt", "--tokenizer", "bytes",
                "--out", data.toString(), "--val-fraction", "0", "--fim-rate", "0", "--threads", "1", "--no-progress");
        assertEquals(0, r.code(), r.err());
        Path base = tmp.resolve("base");
        r = TrainCommandTest.run("train", "--data", data.toString(), "--out", base.toString(), "--preset", "tiny", "--steps", "2",
                "--seq-len", "8", "--micro-batch", "2", "--batch", "2", "--lr", "3e-3", "--warmup-steps", "1", "--no-progress", "--no-plot");
        assertEquals(0, r.code(), r.err());
        Path init = base.resolve("step-2"), ext = tmp.resolve("ext");
        r = TrainCommandTest.run("train", "--data", data.toString(), "--out", ext.toString(), "--init-from", init.toString(), "--steps", "1",
                "--seq-len", "32", "--micro-batch", "1", "--batch", "1", "--lr-schedule", "0", "--gamma-schedule", "0", "--weight-decay", "0",
                "--yarn-factor", "4", "--yarn-original-len", "8", "--eval-every", "0", "--no-progress", "--no-plot");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("YaRN factor 4 from 8") && r.out().contains("(extension stage)"), r.out());
        ModelConfig c = ModelConfig.load(ext.resolve("step-1").resolve("config.json"));
        assertEquals(4, c.ropeScaling().factor());
        assertEquals(8, c.ropeScaling().originalMaxPositionEmbeddings());
        assertEquals(32, c.ropeScaling().betaFast());
        try (Checkpoint a = Checkpoint.open(init); Checkpoint b = Checkpoint.open(ext.resolve("step-1"))) {
            assertEquals(a.names(), b.names());
            for (String n : a.names()) {
                long[] shape = a.info(n).shape();
                assertArrayEquals(a.floats(n, shape), b.floats(n, shape), n);
            }
        }
        // errors: one line each
        r = TrainCommandTest.run("train", "--data", data.toString(), "--out", tmp.resolve("x").toString(), "--preset", "small", "--steps", "1",
                "--seq-len", "2048", "--no-progress");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("max_position_embeddings 1024"), r.err());
        r = TrainCommandTest.run("train", "--data", data.toString(), "--out", tmp.resolve("y").toString(), "--preset", "small", "--steps", "1",
                "--seq-len", "64", "--yarn-factor", "4", "--no-progress");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--yarn-original-len"), r.err());
    }
}
