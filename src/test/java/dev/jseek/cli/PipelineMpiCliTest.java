package dev.jseek.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jseek.parallel.MpiRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train --parallel pp=2 --schedule dualpipev} under {@code mpirun -np 2} against the same run on 2 thread
 * ranks (the oracle, itself checked against 1 rank by {@link PipelineCliTest}): the metrics and the checkpoint
 * written by the ranks (each its tensors' weights and AdamW moments) are bit for bit those of the thread run. The tiny model's
 * activations (2 x 8 x 64 floats = 4 KiB) are at Open MPI's shared-memory eager limit, so a send completes only
 * when the peer posts its receive; DualPipeV posts some receives a batch later than the peer's send, which hung
 * under MPI until {@code MpiComm} buffered its sends as the thread backend does.
 */
class PipelineMpiCliTest {
    @TempDir Path tmp;

    @Test void dualPipeVOnTwoProcessesIsBitwiseThreads() throws Exception {
        Path data = new PipelineCliTest() {{ tmp = PipelineMpiCliTest.this.tmp; }}.prepare();
        Path threads = tmp.resolve("threads"), mpi = tmp.resolve("mpi");
        TrainCommandTest.Run t = PipelineCliTest.train(PipelineCliTest.args(data, threads, 2, 8), "--ranks", "2", "--parallel", "pp=2", "--schedule", "dualpipev");
        assertTrue(t.out().contains("pipeline dualpipev over 2 ranks, 4 stages"), t.out());
        List<String> k = PipelineCliTest.args(data, mpi, 2, 8);
        k.addAll(List.of("--parallel", "pp=2", "--schedule", "dualpipev"));
        MpiRun.Result r = MpiRun.run(2, 120, List.of("-Djseek.comm.timeoutSeconds=60"), Jseek.class.getName(), k.toArray(String[]::new));
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("(MPI processes)"), r.output());
        List<JsonNode> m = TrainKillTest.metrics(threads);
        assertEquals(2, m.size());
        assertEquals(m, TrainKillTest.metrics(mpi), "MPI metrics vs threads");
        // each rank writes the tensors it owns (the checkpoint of a rank-local arena, ShardedCheckpoint)
        for (String f : List.of("model-rank-0-of-2.safetensors", "model-rank-1-of-2.safetensors", "optimizer-rank-0-of-2.safetensors",
                "optimizer-rank-1-of-2.safetensors", "model.safetensors.index.json"))
            assertArrayEquals(Files.readAllBytes(threads.resolve("step-2").resolve(f)), Files.readAllBytes(mpi.resolve("step-2").resolve(f)), f);
    }
}
