package dev.jseek.train;

/**
 * Adapts {@link TrainModel} (the hand-written DeepSeek-V3 forward/backward) to the {@link Trainer}'s
 * {@link Trainable}: tensors from its {@link ParamLayout} (weight decay on rank >= 2 trainable tensors; the routing
 * biases are non-trainable), its MTP-layer aliases, losses split into main / MTP (mean over depths, unweighted) /
 * balance, and the expert-load and bias-update hooks (docs/architecture.md §5.3). TrainModel uses no randomness, so the
 * {@link TrainRng} is not consumed.
 */
public final class TrainModelTrainable extends ModelTrainable<TokenBatch> {

    public TrainModelTrainable(TrainModel model) {
        super(model);
    }

    @Override public int expertParallelGroup() { return model.expertParallelGroup(); }

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
    @Override public void setExpertLoad(long[][] load) { model.setExpertLoad(load); }
}
