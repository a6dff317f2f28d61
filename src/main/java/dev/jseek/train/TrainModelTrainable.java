package dev.jseek.train;

import java.util.List;
import java.util.Map;

/**
 * Adapts {@link TrainModel} (the hand-written DeepSeek-V3 forward/backward) to the {@link Trainer}'s
 * {@link Trainable}: tensors from its {@link ParamLayout} (weight decay on rank >= 2 trainable tensors; the routing
 * biases are non-trainable), its MTP-layer aliases, losses split into main / MTP (mean over depths, unweighted) /
 * balance, and the expert-load and bias-update hooks (docs/architecture.md §5.3). TrainModel uses no randomness, so the
 * {@link TrainRng} is not consumed.
 */
public final class TrainModelTrainable implements Trainable<TokenBatch> {
    private final TrainModel model;
    private final List<TrainTensor> tensors;

    public TrainModelTrainable(TrainModel model) {
        this.model = model;
        this.tensors = TrainTensor.fromLayout(model.layout());
    }

    public TrainModel model() { return model; }

    @Override public int expertParallelGroup() { return model.expertParallelGroup(); }

    @Override public float[] params() { return model.params(); }
    @Override public float[] grads() { return model.grads(); }
    @Override public List<TrainTensor> tensors() { return tensors; }
    @Override public Map<String, String> aliases() { return model.layout().aliases(); }
    @Override public void zeroGrad() { model.zeroGrad(); }

    @Override public StepLosses forwardBackward(TokenBatch b, float gradScale, TrainRng rng) {
        model.setDocuments(b.documents());
        float total = model.forwardBackward(b.inputs(), b.targets(), b.rows(), b.seqLen(), gradScale);
        double[] mtp = model.lastMtpLosses();
        double mtpMean = 0;
        for (double v : mtp) mtpMean += v;
        if (mtp.length > 0) mtpMean /= mtp.length;
        return new StepLosses(total, model.lastMainLoss(), mtpMean, model.lastBalanceLoss());
    }

    /** Forward over the batch (main model and MTP, as in training), its main CE; resets the expert loads it counted. */
    @Override public double evalLoss(TokenBatch b) {
        for (long[] layer : model.expertLoad())
            for (long v : layer)
                if (v != 0) throw new IllegalStateException("evaluation with expert loads pending (between micro-batches of a step)");
        model.setDocuments(b.documents());
        model.forward(b.inputs(), b.targets(), b.rows(), b.seqLen());
        double ce = model.lastMainLoss();
        model.resetExpertLoad();
        return ce;
    }

    @Override public void setMtpLambda(float lambda) { model.setMtpLambda(lambda); }
    @Override public List<Integer> moeLayerIds() { return model.moeLayerIds(); }
    @Override public long[][] expertLoad() { return model.expertLoad(); }
    @Override public void setExpertLoad(long[][] load) { model.setExpertLoad(load); }
    @Override public void updateBias(float gamma) { model.updateBias(gamma); }
    @Override public void resetExpertLoad() { model.resetExpertLoad(); }
}
