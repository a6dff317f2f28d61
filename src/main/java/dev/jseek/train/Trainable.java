package dev.jseek.train;

import java.util.List;
import java.util.Map;

/**
 * What {@link Trainer} needs from a model (docs/architecture.md §7.1, §5.3, §6.2): a flat FP32 parameter arena and a gradient arena
 * with the same layout, described by {@link #tensors()} (HF names, offsets, which tensors are trained and which
 * get weight decay), and a forward+backward pass over one micro-batch of type {@code B}.
 *
 * <p>Contract: {@link #forwardBackward} ADDS {@code gradScale * d(total loss)/d(param)} into {@link #grads()}
 * (the trainer calls {@link #zeroGrad()} before the first micro-batch of a step and passes
 * {@code gradScale = 1/microBatches}); non-trainable tensors get zero gradient. The MoE hooks count expert loads
 * over the micro-batches of a step; {@link #updateBias} applies the aux-loss-free rule from those counts and
 * resets them. A model without MoE or MTP keeps the default no-op hooks. Any randomness the model uses must
 * come from the {@link TrainRng} it is given (its state is checkpointed), so that a resumed run is bit-identical.
 */
public interface Trainable<B> {
    /** The FP32 master weights (the arena the optimizer updates in place). */
    float[] params();

    /** Gradients, same layout as {@link #params()}. */
    float[] grads();

    /** Every distinct tensor of the arena (no aliases), in a fixed order. */
    List<TrainTensor> tensors();

    /** Checkpoint names stored as copies of another tensor: alias -> target name (e.g. MTP's embed_tokens, docs/architecture.md §6.1). */
    default Map<String, String> aliases() { return Map.of(); }

    /** Sets every gradient to 0. */
    void zeroGrad();

    /** Forward and backward over one micro-batch; returns its losses. */
    StepLosses forwardBackward(B batch, float gradScale, TrainRng rng);

    /**
     * Validation: the mean main next-token cross-entropy (nats per target) of one batch, forward only. Changes no
     * parameter, gradient, optimizer or RNG state, and discards the routing statistics the forward produces (the
     * {@link Trainer} evaluates between steps, when no expert loads are pending). Models without evaluation throw
     * {@link UnsupportedOperationException}.
     */
    default double evalLoss(B batch) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " does not support validation");
    }

    /**
     * Statistics of the last {@link #forwardBackward} on {@code batch} worth logging beside the losses (e.g. GRPO's
     * rewards and KL), by name; the {@link Trainer} averages them over the micro-batches of a step into
     * {@link StepMetrics#extra()}. Default: none.
     */
    default Map<String, Double> stats(B batch) { return Map.of(); }

    /** Sets the MTP loss weight lambda (docs/architecture.md §6.2) for the next forward passes. */
    default void setMtpLambda(float lambda) {}

    /** HF layer ids of the MoE layers, in the order of {@link #expertLoad()}. */
    default List<Integer> moeLayerIds() { return List.of(); }

    /** Tokens routed to each expert per MoE layer since the last {@link #updateBias}/{@link #resetExpertLoad}. */
    default long[][] expertLoad() { return new long[0][]; }

    /**
     * Replaces the loads counted so far with {@code load} (same shape as {@link #expertLoad()}): data parallelism
     * sets the loads summed over ranks before {@link #updateBias}.
     */
    default void setExpertLoad(long[][] load) {
        if (load.length != 0) throw new UnsupportedOperationException(getClass().getSimpleName() + " has no expert loads to set");
    }

    /** b_i += gamma * sign(mean load - load_i) per MoE layer (docs/architecture.md §5.3), then resets the loads. */
    default void updateBias(float gamma) {}

    /** Forgets the loads counted so far (a skipped step). */
    default void resetExpertLoad() {}

    /** Ranks in an expert-parallel group: the routed experts are sharded over that many consecutive ranks (1: none). */
    default int expertParallelGroup() { return 1; }

    /**
     * Where this rank's routed experts start in the arena when it holds only its own ({@link ExpertShard}): the shared
     * tensors are [0, sharedEnd), the held experts the rest. The arena size when every rank holds every tensor.
     */
    default int sharedEnd() { return params().length; }

    /** The whole model's tensor names in order, including tensors held by other ranks (default: {@link #tensors()}'). */
    default List<String> modelTensorNames() { return tensors().stream().map(TrainTensor::name).toList(); }
}
