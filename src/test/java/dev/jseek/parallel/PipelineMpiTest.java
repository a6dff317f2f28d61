package dev.jseek.parallel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Pipeline parallel over MPI processes (issue 13): one 1F1B step on PP2 under mpirun equals the 1-rank run
 * (dev.jseek.pipeline.PipelineMpiMain checks losses bitwise and gradients by cosine difference). Lives here for
 * {@link MpiRun}.
 */
class PipelineMpiTest {
    @Test void oneFOneBOnTwoProcessesEqualsOneRank() throws Exception {
        MpiRun.Result r = MpiRun.run(2, 120, List.of(), "dev.jseek.pipeline.PipelineMpiMain", "1f1b");
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("ok pipeline mpi 1f1b"), r.output());
    }
}
