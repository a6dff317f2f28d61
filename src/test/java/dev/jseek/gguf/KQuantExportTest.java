package dev.jseek.gguf;

import static dev.jseek.gguf.GgufTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.io.Checkpoint;
import dev.jseek.io.TensorInfo;
import dev.jseek.model.AttnMode;
import dev.jseek.model.ConfigEdits;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.InMemoryWeights;
import dev.jseek.model.ModelConfig;
import dev.jseek.model.Presets;
import dev.jseek.model.RandomInit;
import dev.jseek.source.ModelSource;
import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import dev.jseek.tensor.QuantBlocks;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code export --type q4_k_m | q6_k} on a random model whose rows are whole 256-blocks: the per-tensor types follow
 * llama.cpp's deepseek2 rules ({@link QuantMix}); every quantized tensor's bytes equal the reference quantizer
 * (tensor/, itself byte-equal to ggml) applied to the source rows; the GGUF weights stay in their block types when
 * loaded; and the model's logits lie much nearer those of the HF model with every weight rounded through its block type
 * (computed here from the reference quantizer, not read back) than those of the unrounded model (not equal: the
 * K-quant decode kernels round activations to Q8_K, see KQuantDotTest).
 */
public class KQuantExportTest {
    /** A small DeepSeek-V3 shape whose matrices are whole K-quant super-blocks (256 columns). */
    public static ModelConfig config() {
        return ConfigEdits.edit(Presets.get("small"), o -> {
            o.put("vocab_size", 256);
            o.put("num_hidden_layers", 3);
            o.put("intermediate_size", 256);
            o.put("q_lora_rank", 256);
            o.put("kv_lora_rank", 256);
            o.put("v_head_dim", 64);
            o.put("moe_intermediate_size", 256);
            o.put("n_routed_experts", 4);
            o.put("num_experts_per_tok", 2);
            o.put("n_group", 2);
            o.put("topk_group", 1);
            o.put("num_nextn_predict_layers", 0);
        });
    }

    static final int[] TOKENS = {3, 17, 250, 9, 1, 255};

    @Test
    void q4KMAndQ6KFollowLlamaCppsTypesAndReferenceBytes(@TempDir Path tmp) throws Exception {
        ModelConfig c = config();
        Path hf = tmp.resolve("hf");
        RandomInit.write(c, hf, 5, 0.05, DType.F32);
        float[] exact;
        try (DeepSeekV3 ref = ModelSource.open(hf)) { exact = run(ref, TOKENS, AttnMode.ABSORB); }
        int layers = c.numHiddenLayers();
        for (QuantMix mix : new QuantMix[] {QuantMix.Q4_K_M, QuantMix.Q6_K}) {
            Path out = tmp.resolve(mix + ".gguf");
            GgufExporter.Result r = GgufExporter.export(hf, out, mix, false, null);
            try (GgufFile f = GgufFile.open(out)) {
                assertEquals(mix.fileType, f.get("general.file_type").asLong());
                GgmlType base = mix == QuantMix.Q4_K_M ? GgmlType.Q4_K : GgmlType.Q6_K;
                assertEquals(GgmlType.Q6_K, f.tensor("output.weight").type());
                assertEquals(base, f.tensor("token_embd.weight").type());
                for (int l = 0; l < layers; l++) {
                    String g = "blk." + l + ".";
                    assertEquals(base, f.tensor(g + "attn_q_b.weight").type());
                    assertEquals(base, f.tensor(g + "attn_output.weight").type());
                    assertEquals(base, f.tensor(g + "attn_v_b.weight").type());
                    assertEquals(GgmlType.Q8_0, f.tensor(g + "attn_k_b.weight").type()); // rows of qk_nope 32: K-quant falls back
                    assertTrue(r.fallbacks().contains(g + "attn_k_b.weight (row length 32 is not a multiple of 256: Q8_0)"), r.fallbacks().toString());
                    assertEquals(GgmlType.F32, f.tensor(g + "attn_norm.weight").type());
                    // use_more_bits(l, 3): layer 2 of 3 gets Q6_K ffn_down in Q4_K_M
                    GgmlType down = mix == QuantMix.Q4_K_M && l < 2 ? GgmlType.Q4_K : GgmlType.Q6_K;
                    if (c.isMoeLayer(l)) {
                        assertEquals(GgmlType.F32, f.tensor(g + "ffn_gate_inp.weight").type());
                        assertEquals(down, f.tensor(g + "ffn_down_exps.weight").type(), g);
                        assertEquals(down, f.tensor(g + "ffn_down_shexp.weight").type(), g);
                        assertEquals(base, f.tensor(g + "ffn_up_exps.weight").type());
                    } else {
                        assertEquals(down, f.tensor(g + "ffn_down.weight").type(), g);
                        assertEquals(base, f.tensor(g + "ffn_gate.weight").type());
                    }
                }
                try (Checkpoint ck = Checkpoint.open(hf)) {
                    assertReferenceBytes(f, "output.weight", ck.floats("lm_head.weight"));
                    assertReferenceBytes(f, "blk.1.attn_q_b.weight", ck.floats("model.layers.1.self_attn.q_b_proj.weight"));
                    float[] downs = new float[0];
                    for (int e = 0; e < c.nRoutedExperts(); e++) downs = concat(downs, ck.floats("model.layers.2.mlp.experts." + e + ".down_proj.weight"));
                    assertReferenceBytes(f, "blk.2.ffn_down_exps.weight", downs);
                }
            }
            try (GgufWeights gw = new GgufWeights(GgufFile.open(out), c)) {
                Matrix m = gw.matrix("model.layers.2.mlp.experts.1.up_proj.weight", c.moeIntermediateSize(), c.hiddenSize());
                assertEquals(base(mix), m.dtype(), "an expert stays a block-typed slice of the mapped stack");
                float[] want;
                try (DeepSeekV3 oracle = DeepSeekV3.load(c, rounded(hf, gw))) { want = run(oracle, TOKENS, AttnMode.ABSORB); }
                try (DeepSeekV3 q = ModelSource.open(out)) {
                    for (AttnMode mode : AttnMode.values()) {
                        float[] got = run(q, TOKENS, mode);
                        double d = maxDiff(want, got), e = maxDiff(exact, got);
                        // up to jseek.quantIntMaxM tokens per product the K-quant kernels round the activations to
                        // Q8_K as llama.cpp does (bounded against the float dot in KQuantDotTest), so the logits sit
                        // near the rounded-weights model, not on it
                        System.out.printf("%s %s: max |diff| to the rounded-weights model %.3g, to the unrounded one %.3g%n", mix, mode, d, e);
                        assertTrue(e > 3 * d, mix + " " + mode + ": max |diff| to the rounded-weights model " + d
                                + " is not well below the quantization's own effect " + e);
                    }
                }
            }
        }
    }

    static DType base(QuantMix mix) { return mix == QuantMix.Q4_K_M ? DType.Q4_K : DType.Q6_K; }

    static float[] concat(float[] a, float[] b) {
        float[] o = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, o, a.length, b.length);
        return o;
    }

    static void assertReferenceBytes(GgufFile f, String name, float[] src) {
        GgufTensorInfo t = f.tensor(name);
        DType d = t.type().dtype();
        assertTrue(d.isBlock(), name);
        byte[] want = new byte[Math.toIntExact(d.byteSize(src.length))];
        for (int b = 0; b < src.length / d.blockSize; b++) QuantBlocks.quantizeBlock(d, src, b * d.blockSize, want, b * d.blockBytes);
        MemorySegment got = f.segment(name);
        assertEquals(want.length, got.byteSize(), name);
        for (int i = 0; i < want.length; i++) assertEquals(want[i], got.get(ValueLayout.JAVA_BYTE, i), name + " byte " + i);
    }

    /**
     * The HF weights with each tensor rounded as its GGUF type rounds it, by the reference quantizer; kv_b (stored
     * split and transposed) is taken from the GGUF reader, whose rebuild is checked exactly by GgufRoundTripTest.
     */
    static InMemoryWeights rounded(Path hf, GgufWeights gw) {
        GgufFile f = gw.file();
        InMemoryWeights w = new InMemoryWeights();
        java.util.Map<String, Deepseek2Names.Target> names =
                Deepseek2Names.index(new dev.jseek.model.TensorSchema(dev.jseek.model.ModelConfig.load(hf.resolve("config.json"))));
        try (Checkpoint ck = Checkpoint.open(hf)) {
            for (String n : ck.names()) {
                Deepseek2Names.Target t = names.get(n);
                if (t == null) continue;
                TensorInfo info = ck.info(n);
                if (t.kind() == Deepseek2Names.Kind.KV_B) {
                    int rows = (int) info.dim(0), cols = (int) info.dim(1);
                    Matrix m = gw.matrix(n, rows, cols);
                    float[] x = new float[rows * cols];
                    for (int i = 0; i < rows; i++) dev.jseek.kernels.WeightRows.decodeRow(m, i, x, i * cols);
                    w.put(n, x, info.shape());
                    continue;
                }
                float[] x = ck.floats(n);
                DType d = f.tensor(t.gguf()).type().dtype();
                if (d.isBlock()) {
                    byte[] blk = new byte[d.blockBytes];
                    for (int b = 0; b < x.length; b += d.blockSize) {
                        QuantBlocks.quantizeBlock(d, x, b, blk, 0);
                        QuantBlocks.dequantizeBlock(d, MemorySegment.ofArray(blk), 0, x, b);
                    }
                }
                w.put(n, x, info.shape());
            }
        }
        return w;
    }
}
