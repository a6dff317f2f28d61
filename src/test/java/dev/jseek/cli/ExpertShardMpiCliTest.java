package dev.jseek.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jseek.parallel.MpiRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Expert parallel on 4 MPI processes (oversubscribed on the CI machine's 2 cores): {@code --parallel dp=2,ep=2} and
 * {@code ep=4} under {@code mpirun -np 4} against the same runs on 4 thread ranks, bit for bit (metrics.jsonl without
 * timings; the per-rank checkpoint shards byte for byte). Oracle for the thread runs: {@code train.ExpertParallelTest}
 * (one rank). Then a checkpoint written by the 4 MPI ranks of dp=2,ep=2 at step 2 resumes on 2 MPI ranks of ep=2, and
 * its step 3 losses are the uninterrupted run's, bit for bit (a step's loss is a forward of the same weights).
 */
class ExpertShardMpiCliTest {
    @TempDir Path tmp;

    @Test void ep4AndDp2xEp2OnFourProcessesAreBitwiseThreadsAndResumeOnEp2() throws Exception {
        Path data = new DataParallelCliTest() {{ tmp = ExpertShardMpiCliTest.this.tmp; }}.prepare();
        for (String layout : List.of("dp=2,ep=2", "ep=4")) {
            String name = layout.replace(",", "-").replace("=", "");
            Path threads = tmp.resolve(name + "-threads"), mpi = tmp.resolve(name + "-mpi");
            List<String> a = new ArrayList<>(ExpertParallelCliTest.args(data, threads));
            a.set(a.indexOf("--batch") + 1, "8");
            a.addAll(List.of("--ranks", "4", "--parallel", layout, "--checkpoint-every", "2"));
            TrainCommandTest.Run t = TrainCommandTest.run(a.toArray(String[]::new));
            assertEquals(0, t.code(), t.err());
            assertTrue(t.out().contains("each rank holding only its own experts' weights, gradients and AdamW moments"), t.out());
            List<String> k = new ArrayList<>(ExpertParallelCliTest.args(data, mpi));
            k.set(k.indexOf("--batch") + 1, "8");
            k.addAll(List.of("--parallel", layout, "--checkpoint-every", "2"));
            MpiRun.Result r = MpiRun.run(4, 180, List.of(), Jseek.class.getName(), k.toArray(String[]::new));
            assertEquals(0, r.exit(), r.output());
            List<JsonNode> m = TrainKillTest.metrics(threads);
            assertEquals(3, m.size());
            assertEquals(m, TrainKillTest.metrics(mpi), layout + ": MPI metrics vs threads");
            for (int q = 0; q < 4; q++)
                for (String f : List.of("model-rank-" + q + "-of-4.safetensors", "optimizer-rank-" + q + "-of-4.safetensors"))
                    assertArrayEquals(Files.readAllBytes(threads.resolve("step-3").resolve(f)), Files.readAllBytes(mpi.resolve("step-3").resolve(f)), layout + " " + f);
            if (!layout.equals("dp=2,ep=2")) continue;
            // the 4-rank checkpoint of step 2 resumes on 2 MPI ranks (ep=2)
            Path resumed = tmp.resolve("resumed");
            List<String> e = new ArrayList<>(ExpertParallelCliTest.args(data, resumed));
            e.set(e.indexOf("--batch") + 1, "8");
            e.addAll(List.of("--parallel", "ep=2", "--resume", mpi.resolve("step-2").toString()));
            r = MpiRun.run(2, 180, List.of(), Jseek.class.getName(), e.toArray(String[]::new));
            assertEquals(0, r.exit(), r.output());
            JsonNode step3 = TrainKillTest.metrics(resumed).getFirst();
            assertEquals(3, step3.get("step").asInt());
            for (String f : List.of("loss", "main_loss", "mtp_loss", "balance_loss"))
                assertEquals(m.get(2).get(f), step3.get(f), "step 3 " + f + " after dp=2,ep=2 (4 processes) -> ep=2 (2 processes)");
        }
    }
}
