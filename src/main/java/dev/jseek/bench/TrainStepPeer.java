package dev.jseek.bench;

import dev.jseek.model.ModelConfig;
import dev.jseek.train.ParamLayout;

/**
 * A reference implementation of jseek's training step that {@link TrainBench} ({@code jseek bench train}) times in the same run (e.g. the
 * PyTorch eager port in the test sources, found with {@link java.util.ServiceLoader} when tools/bench-train.sh puts
 * it on the class path; the jseek runtime never depends on one). The peer builds the same model (docs/architecture.md §3-§6: MLA, MoE
 * with the same routing, MTP, balance loss, cross-entropy) from the same weights and runs the same step:
 * zero gradients, forward, backward, AdamW update (torch semantics, decay on matrices only, routing bias frozen).
 */
public interface TrainStepPeer extends AutoCloseable {
    /** Loss and optimizer hyper-parameters of the step. */
    record Hyper(float mtpLambda, float balanceAlpha, boolean seqWiseBalance,
                 float beta1, float beta2, float eps, float weightDecay) {}

    /** What runs, e.g. "PyTorch 2.7.1 eager (DJL 0.36.0)". */
    String name();

    /**
     * Builds the model for config {@code c} with the weights of {@code params} laid out by {@code layout} (HF tensor
     * names), for batches of B sequences of T tokens, running on {@code threads} threads.
     */
    void setup(ModelConfig c, ParamLayout layout, float[] params, int B, int T, Hyper h, int threads) throws Exception;

    /** Forward and backward without an update: {total loss, global L2 norm of the trainable gradients}. */
    double[] lossAndGradNorm(int[] tokens, int[] targets);

    /** One full training step with learning rate lr; returns the loss of its forward. */
    double step(int[] tokens, int[] targets, float lr);

    @Override void close();
}
