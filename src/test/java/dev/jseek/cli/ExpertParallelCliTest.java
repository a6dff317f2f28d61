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
 * {@code jseek train --parallel ep=2} on both backends: {@code mpirun -np 2} (Open MPI through FFM) against
 * {@code --ranks 2} threads of the same run. Rank 1 of the MPI job is SIGKILLed in the middle of step 3: mpirun ends
 * the job naming it, and {@code --resume} (2 MPI processes) continues from the step-2 shards to the same end. The exchanges only move rows and every reduction is rank-ordered, so
 * the two are bit-identical: metrics.jsonl line by line without timings (losses, norms, expert loads, the rows per
 * expert-parallel rank) and the final checkpoint's per-rank model and optimizer shards byte for byte. (EP against one rank:
 * {@code train.ExpertParallelTest}.) FP8 expert parallel's first step is within 1e-5 of one FP8 rank; a node layout
 * that does not tile the ranks is refused in one line.
 */
class ExpertParallelCliTest {
    @TempDir Path tmp;

    /** DataParallelCliTest's arguments with 3 steps (kept short: two JVMs start under mpirun). */
    static List<String> args(Path data, Path out) {
        List<String> a = new ArrayList<>(DataParallelCliTest.args(data, out));
        a.set(a.indexOf("--steps") + 1, "3");
        return a;
    }

    @Test void mpiEp2IsBitwiseThreadEp2AndAKilledRankResumes() throws Exception {
        Path data = new DataParallelCliTest() {{ tmp = ExpertParallelCliTest.this.tmp; }}.prepare();
        Path threads = tmp.resolve("threads"), mpi = tmp.resolve("mpi");
        List<String> a = new ArrayList<>(args(data, threads));
        a.addAll(List.of("--ranks", "2", "--parallel", "ep=2", "--checkpoint-every", "2"));
        TrainCommandTest.Run t = TrainCommandTest.run(a.toArray(String[]::new));
        assertEquals(0, t.code(), t.err());
        assertTrue(t.out().contains("expert parallel: routed experts sharded over groups of 2 consecutive ranks (1 replicas)"), t.out());
        List<com.fasterxml.jackson.databind.JsonNode> m = TrainKillTest.metrics(threads);
        assertEquals(3, m.size());
        assertTrue(m.getFirst().has("ep_rank0_rows") && m.getFirst().has("ep_rank1_rows"), m.getFirst().toString());

        // the same run on 2 MPI processes; rank 1 pauses in the middle of step 3 (after the checkpoint of step 2) and is SIGKILLed
        Path marker = tmp.resolve("paused");
        List<String> k = new ArrayList<>(args(data, mpi));
        k.addAll(List.of("--parallel", "ep=2", "--checkpoint-every", "2"));
        MpiRun.Started job = MpiRun.start(List.of(List.of(), List.of("-Djseek.test.pause=mid-step@3", "-Djseek.test.pauseMarker=" + marker)),
                Jseek.class.getName(), k.toArray(String[]::new));
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (!Files.exists(marker)) {
            assertTrue(job.process().isAlive(), "the job ended before rank 1 paused:\n" + job.output());
            assertTrue(System.nanoTime() < deadline, "rank 1 did not reach step 3:\n" + job.output());
            Thread.sleep(50);
        }
        assertEquals(m.subList(0, 2), TrainKillTest.metrics(mpi));
        long pid = Long.parseLong(Files.readAllLines(marker).get(1).strip());
        ProcessHandle victim = ProcessHandle.of(pid).orElseThrow(() -> new AssertionError("rank 1 (pid " + pid + ") is gone"));
        victim.destroyForcibly();
        long t0 = System.nanoTime();
        MpiRun.Result kr = job.await(60);
        assertNotEquals(0, kr.exit(), kr.output());
        assertTrue(kr.output().contains("process rank 1 with PID") && kr.output().contains("signal 9"), kr.output());
        assertTrue((System.nanoTime() - t0) / 1e9 < 30, kr.output());
        // --resume on 2 MPI processes continues from step 2 to the uninterrupted run's metrics and per-rank shards
        MpiRun.Result r = MpiRun.run(2, 120, List.of(), Jseek.class.getName(), java.util.stream.Stream.concat(k.stream(), java.util.stream.Stream.of("--resume"))
                .toArray(String[]::new));
        assertEquals(0, r.exit(), r.output());
        assertEquals(m, TrainKillTest.metrics(mpi));
        for (String f : List.of("model-rank-0-of-2.safetensors", "model-rank-1-of-2.safetensors", "optimizer-rank-0-of-2.safetensors",
                "optimizer-rank-1-of-2.safetensors", "model.safetensors.index.json"))
            assertArrayEquals(Files.readAllBytes(threads.resolve("step-3").resolve(f)), Files.readAllBytes(mpi.resolve("step-3").resolve(f)), f);

        // FP8 expert parallel (E4M3 dispatch, BF16 combine): the first step's losses are those of one FP8 rank (float
        // combine) within the BF16 rounding of the expert outputs (bitwise against one rank rounding them: Fp8DispatchTest)
        List<com.fasterxml.jackson.databind.JsonNode> fp8 = new ArrayList<>();
        for (String layout : List.of("one", "ep2")) {
            List<String> f = new ArrayList<>(args(data, tmp.resolve("fp8-" + layout)));
            f.set(f.indexOf("--steps") + 1, "1");
            f.addAll(List.of("--precision", "fp8"));
            if (layout.equals("ep2")) f.addAll(List.of("--ranks", "2", "--parallel", "ep=2"));
            TrainCommandTest.Run e = TrainCommandTest.run(f.toArray(String[]::new));
            assertEquals(0, e.code(), e.err());
            fp8.add(TrainKillTest.metrics(tmp.resolve("fp8-" + layout)).getFirst());
        }
        for (String key : List.of("loss", "main_loss", "mtp_loss")) {
            double one = fp8.get(0).get(key).asDouble();
            assertEquals(one, fp8.get(1).get(key).asDouble(), 1e-5 * one, key + " of FP8 one rank vs FP8 ep=2");
        }
        List<String> f = new ArrayList<>(args(data, tmp.resolve("nodes")));
        f.addAll(List.of("--ranks", "2", "--parallel", "ep=2,ranks-per-node=3,max-nodes=1"));
        TrainCommandTest.Run e = TrainCommandTest.run(f.toArray(String[]::new));
        assertEquals(2, e.code());
        assertEquals("jseek: --parallel ep=2,ranks-per-node=3,max-nodes=1: ep=2 ranks do not split into nodes of ranks-per-node=3", e.err().strip());
    }
}
