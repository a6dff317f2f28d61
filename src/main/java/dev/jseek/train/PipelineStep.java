package dev.jseek.train;

import java.util.List;

/**
 * What {@link Trainer} needs from a pipeline-parallel group (report §3.2.1): one training step's forward and backward
 * over all of its micro-batches at once, run by a schedule across the group's ranks. Every rank holds only its
 * stages' tensors; after {@link #run} the owner of each tensor ({@link #owners}) holds its gradient summed over the
 * group and the model's expert loads are those of all micro-batches, so the optimizer step (each rank updating the
 * tensors it owns, then {@link #shareParameters}), the bias update and the metrics are the 1-rank ones. Implemented
 * by {@code dev.jseek.pipeline.PipelineTrainStep}.
 */
public interface PipelineStep<B> {
    /**
     * Zeroes the gradients, runs {@code batches} (a whole step) with gradScale and MTP weight lambda, and returns the
     * losses of each micro-batch in order, identical on every rank.
     */
    List<StepLosses> run(List<B> batches, float gradScale, float mtpLambda);

    /** Throws {@link IllegalArgumentException} (a one-line message) when a step of {@code microBatches} cannot run. */
    void check(int microBatches);

    /**
     * The ranks that hold the same stages for other micro-batches (pipeline combined with data or expert parallel),
     * over which the trainer reduces the gradients and shards the optimizer (ZeRO-1); null: none (the gradients
     * after {@link #run} are the whole step's).
     */
    default dev.jseek.parallel.Communicator dataGroup() { return null; }

    /**
     * The pipeline group: the ranks that run the schedule together, each updating only the tensors it owns ({@link #owners}).
     */
    dev.jseek.parallel.Communicator pipelineGroup();

    /**
     * Per tensor of {@code names} (the trainer's tensors in arena order), the rank of {@link #pipelineGroup()} that
     * runs the stage holding it and so keeps its optimizer state and updates it.
     */
    int[] owners(List<String> names);

    /** Collective: after the owners updated their tensors, their values sent to the ranks holding copies. */
    void shareParameters();

    /** Collective: the main cross-entropy of one batch, forward only through the pipeline (validation), the same on every rank. */
    double evalLoss(B batch);

    /** One line: schedule, ranks and stages. */
    String describe();
}
