package dev.jseek.parallel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Pipeline parallel over MPI processes (issue 13): one 1F1B step on PP2, and one DualPipeV step on pp=2 x ep=2 with
 * its F&amp;B pairs overlapping the expert all-to-alls, under mpirun equal the 1-rank run
 * (dev.jseek.pipeline.PipelineMpiMain and PipelineComboMpiMain check losses bitwise and gradients by cosine
 * difference). Lives here for {@link MpiRun}.
 */
class PipelineMpiTest {
    @Test void oneFOneBOnTwoProcessesEqualsOneRank() throws Exception {
        MpiRun.Result r = MpiRun.run(2, 120, List.of(), "dev.jseek.pipeline.PipelineMpiMain", "1f1b");
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("ok pipeline mpi 1f1b"), r.output());
    }

    @Test void dualPipeVWithExpertParallelOnFourProcessesEqualsOneRank() throws Exception {
        MpiRun.Result r = MpiRun.run(4, 180, List.of(), "dev.jseek.pipeline.PipelineComboMpiMain");
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("ok pipeline combo mpi dualpipev"), r.output());
    }
}
