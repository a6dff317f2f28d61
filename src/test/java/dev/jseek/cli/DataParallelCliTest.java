package dev.jseek.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.parallel.MpiRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code jseek train} data parallel on both backends: {@code mpirun -np 2 ... train --parallel dp=2} (Open MPI through
 * FFM) against {@code train --ranks 2} (threads) of the same run: the rank-ordered reductions make the two bit-identical
 * (metrics.jsonl line by line without timings, and the final checkpoint's model and optimizer files byte for byte).
 * (DP against one rank: {@code DataParallelTest}.) Layout mistakes give one line.
 */
class DataParallelCliTest {
    @TempDir Path tmp;

    static List<String> args(Path data, Path out) {
        return List.of("train", "--data", data.toString(), "--out", out.toString(), "--preset", "tiny", "--steps", "5", "--seq-len", "8",
                "--micro-batch", "2", "--batch", "4", "--lr", "3e-3", "--warmup-steps", "2", "--seed", "7", "--no-progress", "--no-plot",
                "--eval-every", "0");
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

    @Test void mpiDp2IsBitwiseThreadDp2() throws Exception {
        Path data = prepare();
        Path threads = tmp.resolve("threads"), mpi = tmp.resolve("mpi");
        List<String> a = new ArrayList<>(args(data, threads));
        a.addAll(List.of("--ranks", "2"));
        TrainCommandTest.Run t = TrainCommandTest.run(a.toArray(String[]::new));
        assertEquals(0, t.code(), t.err());
        assertTrue(t.out().contains("data parallel over 2 ranks (threads of this process)"), t.out());
        assertTrue(t.out().matches("(?s).*rank +arena shard \\(floats\\) +params MiB +grads MiB +optimizer MiB +activations MiB.*"), t.out());
        List<String> m = new ArrayList<>(args(data, mpi));
        m.addAll(List.of("--parallel", "dp=2"));
        MpiRun.Result r = MpiRun.run(2, 180, List.of(), Jseek.class.getName(), m.toArray(String[]::new));
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("data parallel over 2 ranks (MPI processes)"), r.output());
        assertTrue(r.output().contains("trained steps 1..5"), r.output());
        assertEquals(TrainKillTest.metrics(threads), TrainKillTest.metrics(mpi));
        for (String f : List.of("model.safetensors", "optimizer.safetensors"))
            assertArrayEquals(Files.readAllBytes(threads.resolve("step-5").resolve(f)), Files.readAllBytes(mpi.resolve("step-5").resolve(f)), f);
    }

    @Test void layoutMistakesAreOneLine() throws Exception {
        Path data = tmp.resolve("nodata");
        List<String> a = new ArrayList<>(args(data, tmp.resolve("o")));
        a.addAll(List.of("--parallel", "dp=2"));
        TrainCommandTest.Run r = TrainCommandTest.run(a.toArray(String[]::new));
        assertEquals(2, r.code());
        assertEquals("jseek: --parallel dp=2 runs under MPI: mpirun -np 2 ./jseek train ... (for threads of one process use --ranks 2)", r.err().strip());
        a.set(a.size() - 1, "dp=2,ep=2");
        r = TrainCommandTest.run(a.toArray(String[]::new));
        assertEquals("jseek: --parallel ep=2: only data parallelism (dp=N) is implemented so far", r.err().strip());
        a.set(a.size() - 1, "dp=x");
        r = TrainCommandTest.run(a.toArray(String[]::new));
        assertEquals("jseek: --parallel: 'dp=x' is not NAME=N with N >= 1 (e.g. dp=2)", r.err().strip());
        Path real = prepare();
        List<String> b = new ArrayList<>(args(real, tmp.resolve("p")));
        b.addAll(List.of("--ranks", "3"));
        r = TrainCommandTest.run(b.toArray(String[]::new));
        assertEquals(2, r.code());
        assertEquals("jseek: a step of 2 micro-batches does not split evenly over 3 data-parallel ranks", r.err().strip());
    }
}
