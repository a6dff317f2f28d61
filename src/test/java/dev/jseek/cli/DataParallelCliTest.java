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
 * (metrics.jsonl line by line without timings, checkpoint model and optimizer files byte for byte). Rank 1 of the MPI
 * job is SIGKILLed in the middle of step 4: mpirun ends the job naming it, and {@code --resume} continues to the
 * uninterrupted run's metrics and final checkpoint. (DP against one rank: {@code DataParallelTest}.) Layout
 * mistakes give one line.
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

    @Test void mpiDp2IsBitwiseThreadDp2AndAKilledRankResumes() throws Exception {
        Path data = prepare();
        Path threads = tmp.resolve("threads"), mpi = tmp.resolve("mpi");
        List<String> a = new ArrayList<>(args(data, threads));
        a.addAll(List.of("--ranks", "2", "--checkpoint-every", "2"));
        TrainCommandTest.Run t = TrainCommandTest.run(a.toArray(String[]::new));
        assertEquals(0, t.code(), t.err());
        assertTrue(t.out().contains("data parallel over 2 ranks (threads of this process)"), t.out());
        assertTrue(t.out().matches("(?s).*rank +optimizer shard \\(floats\\) +params MiB +\\(routed experts\\) +grads MiB +optimizer MiB +activations MiB.*"), t.out());

        // the same run on 2 MPI processes; rank 1 pauses in the middle of step 4 (after the checkpoint of step 2)
        Path marker = tmp.resolve("paused");
        List<String> k = new ArrayList<>(args(data, mpi));
        k.addAll(List.of("--parallel", "dp=2", "--checkpoint-every", "2"));
        MpiRun.Started job = MpiRun.start(List.of(List.of(), List.of("-Djseek.test.pause=mid-step@4", "-Djseek.test.pauseMarker=" + marker)),
                Jseek.class.getName(), k.toArray(String[]::new));
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (!Files.exists(marker)) {
            assertTrue(job.process().isAlive(), "the job ended before rank 1 paused:\n" + job.output());
            assertTrue(System.nanoTime() < deadline, "rank 1 did not reach step 4:\n" + job.output());
            Thread.sleep(50);
        }
        assertTrue(job.output().contains("data parallel over 2 ranks (MPI processes)"), job.output());
        // up to here MPI and threads agree bit for bit: metrics of steps 1-3, the step-2 checkpoint's files
        assertEquals(TrainKillTest.metrics(threads).subList(0, 3), TrainKillTest.metrics(mpi));
        for (String f : List.of("model.safetensors", "optimizer.safetensors"))
            assertArrayEquals(Files.readAllBytes(threads.resolve("step-2").resolve(f)), Files.readAllBytes(mpi.resolve("step-2").resolve(f)), f);
        // SIGKILL rank 1: mpirun ends the job, naming it
        // the paused rank wrote its process id into the marker (its command line may be too long for /proc to show)
        long pid = Long.parseLong(Files.readAllLines(marker).get(1).strip());
        ProcessHandle victim = ProcessHandle.of(pid).orElseThrow(() -> new AssertionError("rank 1 (pid " + pid + ") is gone"));
        assertTrue(job.process().descendants().anyMatch(h -> h.pid() == pid), "pid " + pid + " is not under mpirun");
        victim.destroyForcibly();
        long t0 = System.nanoTime();
        MpiRun.Result kr = job.await(60);
        assertNotEquals(0, kr.exit(), kr.output());
        assertTrue(kr.output().contains("process rank 1 with PID") && kr.output().contains("signal 9"), kr.output());
        assertTrue((System.nanoTime() - t0) / 1e9 < 30, kr.output());
        // --resume continues from step 2 (here on 2 thread ranks) and ends where the uninterrupted run did
        List<String> res = new ArrayList<>(args(data, mpi));
        res.addAll(List.of("--ranks", "2", "--resume", "--checkpoint-every", "2"));
        TrainCommandTest.Run rr = TrainCommandTest.run(res.toArray(String[]::new));
        assertEquals(0, rr.code(), rr.err());
        assertTrue(rr.out().contains("resuming " + mpi.resolve("step-2")), rr.out());
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
        assertEquals("jseek: --parallel dp=2 runs under MPI: mpirun -np 2 ./jseek train ... (for threads of one process add --ranks 2)", r.err().strip());
        a.set(a.size() - 1, "dp=2,ep=2");
        r = TrainCommandTest.run(a.toArray(String[]::new));
        assertEquals("jseek: --parallel dp=2,ep=2 runs under MPI: mpirun -np 4 ./jseek train ... (for threads of one process add --ranks 4)", r.err().strip());
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
