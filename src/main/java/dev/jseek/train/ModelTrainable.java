package dev.jseek.train;

import java.util.List;
import java.util.Map;

/**
 * The part of a {@link Trainable} that is the {@link TrainModel} itself, shared by pre-training
 * ({@link TrainModelTrainable}) and the GRPO update ({@code posttrain.GrpoTrainable}): parameters, gradients, tensors
 * from its {@link ParamLayout}, its MTP-layer aliases, and the expert-load and bias-update hooks (docs/architecture.md
 * §5.3). Subclasses say what a batch is and what its loss is.
 *
 * @param <B> the micro-batch type
 */
public abstract class ModelTrainable<B> implements Trainable<B> {
    protected final TrainModel model;
    private final List<TrainTensor> tensors;

    protected ModelTrainable(TrainModel model) {
        this.model = model;
        this.tensors = TrainTensor.fromLayout(model.layout());
    }

    public TrainModel model() { return model; }

    @Override public float[] params() { return model.params(); }
    @Override public float[] grads() { return model.grads(); }
    @Override public List<TrainTensor> tensors() { return tensors; }
    @Override public Map<String, String> aliases() { return model.layout().aliases(); }
    @Override public void zeroGrad() { model.zeroGrad(); }
    @Override public List<Integer> moeLayerIds() { return model.moeLayerIds(); }
    @Override public long[][] expertLoad() { return model.expertLoad(); }
    @Override public void updateBias(float gamma) { model.updateBias(gamma); }
    @Override public void resetExpertLoad() { model.resetExpertLoad(); }
    @Override public int sharedEnd() { return model.layout().sharedEnd(); }
    @Override public List<String> modelTensorNames() { return model.layout().declared().stream().map(ParamLayout.Entry::name).toList(); }
}
