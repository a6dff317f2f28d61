package dev.jseek.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.function.Consumer;

/** Derives a config from another by editing its HF JSON form (so the result is validated like any config.json). */
public final class ConfigEdits {
    private ConfigEdits() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    public static ModelConfig edit(ModelConfig c, Consumer<ObjectNode> change) {
        try {
            ObjectNode o = (ObjectNode) JSON.readTree(c.toJson());
            change.accept(o);
            return ModelConfig.parse(JSON.writeValueAsString(o), null);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The same config with the FP8 release quantization_config (F8_E4M3, 128x128 blocks) set, or removed (null). */
    public static ModelConfig withFp8Quantization(ModelConfig c, boolean fp8) {
        return edit(c, o -> {
            if (!fp8) { o.remove("quantization_config"); return; }
            ObjectNode q = o.putObject("quantization_config");
            q.put("activation_scheme", "dynamic").put("fmt", "e4m3").put("quant_method", "fp8");
            q.putArray("weight_block_size").add(128).add(128);
        });
    }

    public static ModelConfig withVocabSize(ModelConfig c, int vocabSize) {
        return edit(c, o -> o.put("vocab_size", vocabSize));
    }
}
