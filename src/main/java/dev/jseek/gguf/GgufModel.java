package dev.jseek.gguf;

import dev.jseek.io.FormatException;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.ModelConfig;
import java.nio.file.Path;

/**
 * Opens a llama.cpp {@code deepseek2} GGUF file as a jseek {@link DeepSeekV3}: the config from the metadata
 * ({@link Deepseek2Metadata#read}), the weights through {@link GgufWeights}; MTP modules load when the file has
 * {@code nextn_predict_layers} and their {@code blk.L.nextn.*} tensors.
 */
public final class GgufModel {
    private GgufModel() {}

    /** The model of {@code file}; its weights stay mapped until the model is closed. */
    public static DeepSeekV3 open(Path file) {
        GgufFile f = GgufFile.open(file);
        GgufWeights w = null;
        try {
            ModelConfig c = Deepseek2Metadata.read(f);
            w = new GgufWeights(f, c);
            return DeepSeekV3.load(c, w, w);
        } catch (IllegalArgumentException e) {
            if (w != null) w.close(); else f.close();
            throw new FormatException(file + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            if (w != null) w.close(); else f.close();
            throw e;
        }
    }

    /** The config of a GGUF model file (validated), without loading weights. */
    public static ModelConfig config(Path file) {
        try (GgufFile f = GgufFile.open(file)) {
            return Deepseek2Metadata.read(f);
        }
    }
}
