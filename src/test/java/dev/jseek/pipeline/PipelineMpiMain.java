package dev.jseek.pipeline;

import dev.jseek.model.ModelConfig;
import dev.jseek.parallel.MpiComm;
import dev.jseek.train.ParamLayout;
import dev.jseek.train.TrainModel;

/**
 * Run under mpirun with 2 processes by {@code dev.jseek.parallel.PipelineMpiTest}: one step of {@code args[0]}
 * (a schedule) on PP2 over MPI; rank 0 compares it with the 1-rank run computed in-process (losses bitwise, every
 * gradient's cosine difference below 1e-13) and prints "ok pipeline mpi"; a mismatch aborts the job with the reason.
 */
public final class PipelineMpiMain {
    public static void main(String[] args) {
        MpiComm comm = MpiComm.world();
        try {
            String name = args.length > 0 ? args[0] : "1f1b";
            int m = 4;
            ModelConfig c = PipelineEquivalenceTest.config();
            Schedule sched = Schedules.byName(name, 2, m, Costs.of(1, 2, 1));
            StagePartition part = StagePartition.byLayerCount(c.numHiddenLayers(), 2);
            TrainModel model = PipelineEquivalenceTest.rankModel(c, sched, part, comm.rank(), PipelineEquivalenceTest.B);
            PipelineRunner runner = new PipelineRunner(sched, part, model, comm);
            PipelineRunner.StepResult r = runner.step(PipelineEquivalenceTest.batches(c, m, 100), PipelineEquivalenceTest.B, PipelineEquivalenceTest.T, 1f / m);
            float[] grads = PipelineEquivalenceTest.assemble(comm, model, model.grads(), runner.copies());
            if (comm.rank() == 0) {
                PipelineEquivalenceTest.Run ref = PipelineEquivalenceTest.single(c, m, 1);
                for (int i = 0; i < m; i++)
                    if (Double.doubleToLongBits(ref.losses().getFirst()[i]) != Double.doubleToLongBits(r.total()[i]))
                        throw new IllegalStateException("micro-batch " + i + " loss " + r.total()[i] + " != 1-rank " + ref.losses().getFirst()[i]);
                for (ParamLayout.Entry e : PipelineEquivalenceTest.model(c).layout().entries()) {
                    double d = PipelineEquivalenceTest.cosineDiff(ref.firstGrads(), grads, e.offset(), e.size());
                    if (!(d < 1e-13)) throw new IllegalStateException(e.name() + ": cosine difference " + d);
                }
                System.out.println("ok pipeline mpi " + name + " losses " + java.util.Arrays.toString(r.total()));
            }
            comm.barrier();
        } catch (Throwable t) {
            comm.abort("rank " + comm.rank() + ": " + t);
        }
        comm.close();
    }
}
