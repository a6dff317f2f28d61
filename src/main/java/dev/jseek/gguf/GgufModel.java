package dev.jseek.gguf;

import dev.jseek.io.FormatException;
import dev.jseek.io.MemoryBudget;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.FiniteWeights;
import dev.jseek.model.ModelConfig;
import java.nio.file.Path;

/**
 * Opens a llama.cpp {@code deepseek2} GGUF file as a jseek {@link DeepSeekV3}: the config from the metadata
 * ({@link Deepseek2Metadata#read}), the weights through {@link GgufWeights}; MTP modules load when the file has
 * {@code nextn_predict_layers} and their {@code blk.L.nextn.*} tensors. Before anything is loaded, the weights'
 * bytes are checked against the RAM available and the heap part against the heap room ({@link MemoryBudget}), then
 * every weight is scanned once for NaN and infinity ({@link #checkFinite}).
 */
public final class GgufModel {
    private GgufModel() {}

    /** The model of {@code file}; its weights stay mapped until the model is closed. */
    public static DeepSeekV3 open(Path file) {
        GgufFile f = GgufFile.open(file);
        GgufWeights w = null;
        try {
            ModelConfig c = Deepseek2Metadata.read(f);
            MemoryBudget.require(file, mappedBytes(f), heapBytes(f, c));
            if (FiniteWeights.enabled()) checkFinite(f);
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

    /**
     * The load-time NaN/Inf scan of the safetensors path ({@link FiniteWeights}) over every tensor jseek computes on:
     * F32/F16/BF16 element by element, Q8_0/Q4_K/Q5_K/Q6_K by their F16 scale fields. {@code jseek.checkWeights=false}
     * skips it.
     */
    static void checkFinite(GgufFile f) {
        for (GgufTensorInfo t : f.tensors())
            if (t.type().dtype() != null) FiniteWeights.check(f.path(), t.name(), t.type().dtype(), t.shape(), f.segment(t.name()));
    }

    /** Bytes of the file's tensors (they stay mapped: the kernels compute on the stored types). */
    static long mappedBytes(GgufFile f) {
        long n = 0;
        for (GgufTensorInfo t : f.tensors()) n += t.byteSize();
        return n;
    }

    /**
     * Heap bytes a load takes: 1-D tensors become float arrays (norms, biases); kv_b_proj is rebuilt in F32 from
     * block-typed attn_k_b/attn_v_b only with {@code -Djseek.kvBHalves=false} (by default the attention reads the
     * halves as stored and the naive mode rebuilds it on first use; plain-typed ones are permuted off-heap). The
     * caches and workspaces a forward allocates later come on top.
     */
    static long heapBytes(GgufFile f, ModelConfig c) {
        long n = 0;
        for (GgufTensorInfo t : f.tensors()) {
            if (t.rank() == 1) n += 4 * t.elementCount();
            else if (!GgufWeights.KV_B_HALVES && (t.name().endsWith("attn_k_b.weight") || t.name().endsWith("attn_v_b.weight")))
                if (t.type().dtype() == null || t.type().dtype().isBlock()) n += 8 * t.elementCount(); // decoded + the rebuilt copy
        }
        return n;
    }

    /** The config of a GGUF model file (validated), without loading weights. */
    public static ModelConfig config(Path file) {
        try (GgufFile f = GgufFile.open(file)) {
            return Deepseek2Metadata.read(f);
        }
    }
}
