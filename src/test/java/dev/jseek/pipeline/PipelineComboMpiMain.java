package dev.jseek.pipeline;

import dev.jseek.model.ModelConfig;
import dev.jseek.parallel.MpiComm;
import java.util.List;

/**
 * Run under mpirun with 4 processes by {@code dev.jseek.parallel.PipelineMpiTest}: the first step of DualPipeV on
 * {@code pp=2 x dp=1 x ep=2} (every F&amp;B pair overlapping one micro-batch's expert all-to-all with the other's
 * compute, through MPI's non-blocking transfers), 2 replicas of 4 micro-batches; rank 0 compares it with the 1-rank
 * run of the 8 micro-batches computed in-process (losses bitwise, every gradient's cosine difference below 1e-13)
 * and prints "ok pipeline combo mpi"; a mismatch aborts the job with the reason.
 */
public final class PipelineComboMpiMain {
    public static void main(String[] args) {
        MpiComm comm = MpiComm.world();
        try {
            ModelConfig c = PipelineEquivalenceTest.config();
            PipelineComboTest.Out out = PipelineComboTest.combinedRank(comm, c, "dualpipev", 8, 1, 2, 1, 2);
            if (comm.rank() == 0) {
                PipelineEquivalenceTest.Run ref = PipelineEquivalenceTest.single(c, 8, 1);
                PipelineComboTest.checkFirstStep(c, "dualpipev", ref, List.of(out), "mpi dualpipev pp2 ep2");
                System.out.println("ok pipeline combo mpi dualpipev losses " + java.util.Arrays.toString(out.losses().getFirst()));
            }
            comm.barrier();
        } catch (Throwable t) {
            comm.abort("rank " + comm.rank() + ": " + t);
        }
        comm.close();
    }
}
