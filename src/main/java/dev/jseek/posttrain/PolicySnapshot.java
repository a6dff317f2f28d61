package dev.jseek.posttrain;

import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.InMemoryWeights;
import dev.jseek.train.ParamLayout;
import dev.jseek.train.TrainModel;
import java.util.Arrays;

/**
 * The inference model ({@link DeepSeekV3}, with the MLA latent KV cache) of a training model's current parameters,
 * for sampling GRPO's completions from pi_old = the policy before the step (docs/architecture.md §7.6). The parameters are copied
 * (the optimizer keeps updating the training arena); the MTP modules are left out (plain decoding needs none).
 */
public final class PolicySnapshot {
    private PolicySnapshot() {}

    public static DeepSeekV3 of(TrainModel m) {
        float[] p = m.params();
        int mainLayers = m.config().numHiddenLayers();
        InMemoryWeights w = new InMemoryWeights();
        for (ParamLayout.Entry e : m.layout().entries()) {
            if (mtpLayer(e.name(), mainLayers)) continue;
            long[] shape = new long[e.shape().length];
            for (int i = 0; i < shape.length; i++) shape[i] = e.shape()[i];
            w.put(e.name(), Arrays.copyOfRange(p, e.offset(), e.offset() + e.size()), shape);
        }
        return DeepSeekV3.load(m.config(), w);
    }

    static boolean mtpLayer(String name, int mainLayers) {
        if (!name.startsWith("model.layers.")) return false;
        int dot = name.indexOf('.', "model.layers.".length());
        return Integer.parseInt(name.substring("model.layers.".length(), dot)) >= mainLayers;
    }
}
