package dev.jseek.gguf;

import dev.jseek.tensor.Q8_0;

import static dev.jseek.gguf.GgufTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.io.Checkpoint;
import dev.jseek.io.FormatException;
import dev.jseek.io.Npy;
import dev.jseek.io.TensorInfo;
import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.InMemoryWeights;
import dev.jseek.model.ModelConfig;
import dev.jseek.model.Presets;
import dev.jseek.source.ModelSource;
import dev.jseek.tensor.Bf16;
import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * HF safetensors -> GGUF -> jseek model, against the model opened from the safetensors directly (the PyTorch parity
 * fixtures of tools/make_parity_fixtures.py): F32 gives the same logits bit for bit (main and MTP, both attention
 * forms); BF16/F16/Q8_0 give the logits of the HF weights rounded the same way (rounded here, independently of the
 * GGUF reader); FP8 release-format weights are dequantized with their block scales.
 */
class GgufRoundTripTest {
    @Test
    void f32ExportGivesBitwiseEqualLogitsWithMtp(@TempDir Path tmp) throws Exception {
        Path hf = parity("yarn_qlora"), out = tmp.resolve("m.gguf");
        GgufExporter.Result r = GgufExporter.export(hf, out, GgmlType.F32, true, null);
        assertEquals(1, r.mtpLayers());
        assertEquals(List.of(), r.fallbacks());
        int[] toks = tokens(hf);
        try (GgufFile f = GgufFile.open(out)) {
            assertFalse(f.has("blk.1.attn_kv_b.weight"));
            assertArrayEquals(new long[] {8, 16, 4}, f.tensor("blk.1.attn_k_b.weight").dims()); // [nope, kvr, heads]
            assertArrayEquals(new long[] {16, 8, 4}, f.tensor("blk.1.attn_v_b.weight").dims()); // [kvr, v, heads]
            assertArrayEquals(new long[] {32, 12, 16}, f.tensor("blk.1.ffn_gate_exps.weight").dims()); // [in, out, experts]
            assertArrayEquals(new long[] {12, 32, 16}, f.tensor("blk.1.ffn_down_exps.weight").dims());
            assertTrue(f.has("blk.3.nextn.eh_proj.weight"));
            assertEquals(4, f.get("deepseek2.block_count").asLong());
            assertEquals(GgmlType.F32, f.tensor("blk.1.ffn_gate_inp.weight").type());
            assertEquals(List.of(), Deepseek2Metadata.differences(ModelConfig.load(hf.resolve("config.json")), Deepseek2Metadata.read(f)));
        }
        try (DeepSeekV3 ref = ModelSource.open(hf); DeepSeekV3 m = ModelSource.open(out)) {
            assertTrue(m.hasMtp());
            for (AttnMode mode : AttnMode.values()) assertBitwise(run(ref, toks, mode), run(m, toks, mode), mode.toString());
        }
    }

    @Test
    void withoutMtpAndWithQProjTheMainLogitsAreBitwiseEqual(@TempDir Path tmp) throws Exception {
        Path hf = parity("no_qlora"), out = tmp.resolve("m.gguf");
        GgufExporter.export(hf, out, GgmlType.F32, false, null);
        int[] toks = tokens(hf);
        try (GgufFile f = GgufFile.open(out)) {
            assertTrue(f.has("blk.0.attn_q.weight"));
            assertNull(f.get("deepseek2.nextn_predict_layers"));
            assertNull(f.get("deepseek2.attention.q_lora_rank"));
            assertEquals(0, Deepseek2Metadata.read(f).numNextnPredictLayers());
        }
        try (DeepSeekV3 ref = ModelSource.open(hf); DeepSeekV3 m = ModelSource.open(out)) {
            assertFalse(m.hasMtp());
            int T = toks.length;
            float[] want = ref.forward(toks, 0, ref.newCache(T, AttnMode.ABSORB));
            assertBitwise(want, m.forward(toks, 0, m.newCache(T, AttnMode.ABSORB)), "no_qlora");
        }
    }

    @Test
    void fp8ReleaseFormatIsDequantizedWithItsBlockScales(@TempDir Path tmp) throws Exception {
        Path hf = parity("fp8"), out = tmp.resolve("m.gguf");
        GgufExporter.export(hf, out, GgmlType.F32, true, null);
        int[] toks = tokens(hf);
        float[] want = Npy.readFloats(hf.resolve("logits.npy"));
        try (DeepSeekV3 ref = ModelSource.open(hf); DeepSeekV3 m = ModelSource.open(out)) {
            assertNull(m.config.quantizationConfig());
            float[] a = run(m, toks, AttnMode.ABSORB), b = run(ref, toks, AttnMode.ABSORB);
            assertTrue(maxDiff(a, b) < 1e-5, "GGUF vs FP8 safetensors " + maxDiff(a, b));
            assertTrue(maxDiff(Arrays.copyOf(a, want.length), want) < 1e-4, "GGUF vs PyTorch");
        }
    }

    /** The HF model with every GGUF-stored weight rounded as its GGUF type rounds it (computed here, not read back). */
    private static InMemoryWeights rounded(Path hf, GgufFile f) {
        InMemoryWeights w = new InMemoryWeights();
        java.util.Map<String, Deepseek2Names.Target> names =
                Deepseek2Names.index(new dev.jseek.model.TensorSchema(ModelConfig.load(hf.resolve("config.json"))));
        try (Checkpoint ck = Checkpoint.open(hf)) {
            for (String n : ck.names()) {
                Deepseek2Names.Target t = names.get(n);
                if (t == null || (!f.has(t.gguf()) && t.kind() != Deepseek2Names.Kind.KV_B)) continue;
                TensorInfo info = ck.info(n);
                float[] x = ck.floats(n);
                GgmlType type = t.kind() == Deepseek2Names.Kind.KV_B ? f.tensor(Deepseek2Names.vB(t.gguf())).type() : f.tensor(t.gguf()).type();
                if (t.kind() == Deepseek2Names.Kind.KV_B) assertEquals(type, f.tensor(Deepseek2Names.kB(t.gguf())).type());
                int cols = (int) info.dim(info.rank() - 1);
                for (int i = 0; i < x.length; i++) {
                    if (type == GgmlType.BF16) x[i] = Bf16.round(x[i]);
                    if (type == GgmlType.F16) x[i] = Float.float16ToFloat(Float.floatToFloat16(x[i]));
                }
                if (type == GgmlType.Q8_0) {
                    assertNotEquals(Deepseek2Names.Kind.KV_B, t.kind(), "the oracle does not model transposed Q8_0 k_b");
                    byte[] blk = new byte[34];
                    for (int b = 0; b < x.length; b += 32) { // rows are whole blocks (cols % 32 == 0)
                        assertEquals(0, cols % 32);
                        Q8_0.quantizeBlock(x, b, blk, 0);
                        Q8_0.dequantizeBlock(java.lang.foreign.MemorySegment.ofArray(blk), 0, x, b);
                    }
                }
                w.put(n, x, info.shape());
            }
        }
        return w;
    }

    @Test
    void bf16F16AndQ8_0ExportsGiveTheLogitsOfTheRoundedWeights(@TempDir Path tmp) throws Exception {
        Path hf = parity("yarn_qlora");
        int[] toks = tokens(hf);
        ModelConfig c = ModelConfig.load(hf.resolve("config.json"));
        float[] exact;
        try (DeepSeekV3 ref = ModelSource.open(hf)) { exact = run(ref, toks, AttnMode.ABSORB); }
        for (GgmlType type : new GgmlType[] {GgmlType.BF16, GgmlType.F16, GgmlType.Q8_0}) {
            Path out = tmp.resolve(type + ".gguf");
            GgufExporter.Result r = GgufExporter.export(hf, out, type, true, null);
            try (GgufFile f = GgufFile.open(out); GgufWeights gw = new GgufWeights(GgufFile.open(out), c)) {
                assertEquals(type, f.tensor("token_embd.weight").type());
                assertEquals(GgmlType.F32, f.tensor("blk.1.ffn_norm.weight").type());
                if (type == GgmlType.Q8_0) {
                    assertEquals(GgmlType.F32, f.tensor("blk.1.attn_q_b.weight").type()); // rows of 24: not whole blocks
                    assertTrue(r.fallbacks().contains("blk.1.attn_q_b.weight (row length 24 is not a multiple of 32: F32)"), r.fallbacks().toString());
                    assertEquals(GgmlType.Q8_0, f.tensor("blk.1.ffn_up_exps.weight").type());
                } else {
                    // F16/BF16 weights stay in their type (zero-copy views), an expert being a slice of the stack
                    Matrix e3 = gw.matrix("model.layers.2.mlp.experts.3.up_proj.weight", 12, 32);
                    assertEquals(type == GgmlType.BF16 ? DType.BF16 : DType.F16, e3.dtype());
                    assertEquals(gw.matrix("model.layers.1.self_attn.kv_b_proj.weight", 64, 16).dtype(), e3.dtype());
                }
                float[] want;
                try (DeepSeekV3 oracle = DeepSeekV3.load(Deepseek2Metadata.read(f), rounded(hf, f))) { want = run(oracle, toks, AttnMode.ABSORB); }
                try (DeepSeekV3 m = ModelSource.open(out)) {
                    float[] got = run(m, toks, AttnMode.ABSORB);
                    double d = maxDiff(want, got), q = maxDiff(exact, got);
                    assertTrue(d < 1e-4, type + ": max |diff| to the rounded-weights model " + d);
                    assertTrue(q > 10 * d, type + ": rounding changed the logits (" + q + ") more than the comparison's slack");
                }
            }
        }
    }

    @Test
    void configFromTheKeysAloneMatchesAndAnEditedKeyIsCaught(@TempDir Path tmp) {
        for (String p : new String[] {"tiny", "small", "671b"}) {
            ModelConfig c = Presets.get(p);
            GgufWriter w = new GgufWriter();
            Deepseek2Metadata.write(c, 1, w);
            w.metadata().remove(Deepseek2Metadata.JSEEK_CONFIG);
            Path out = tmp.resolve(p + ".gguf");
            w.write(out);
            try (GgufFile f = GgufFile.open(out)) {
                ModelConfig got = Deepseek2Metadata.read(f);
                assertEquals(List.of(), Deepseek2Metadata.differences(c, got), p);
                assertEquals(c.softmaxScale(), got.softmaxScale(), 1e-7 * c.softmaxScale(), p);
            }
        }
        ModelConfig c = Presets.get("tiny");
        GgufWriter w = new GgufWriter();
        Deepseek2Metadata.write(c, 0, w);
        w.put("deepseek2.expert_count", GgufValue.u32(32));
        Path out = tmp.resolve("edited.gguf");
        w.write(out);
        try (GgufFile f = GgufFile.open(out)) {
            FormatException e = assertThrows(FormatException.class, () -> Deepseek2Metadata.read(f));
            assertEquals(out + ": jseek.config disagrees with the deepseek2.* keys (n_routed_experts: 8 vs 32); remove jseek.config to use the keys alone",
                    e.getMessage());
        }
        w.put("deepseek2.expert_count", GgufValue.u32(8));
        w.put("deepseek2.expert_gating_func", GgufValue.u32(1));
        w.write(out);
        try (GgufFile f = GgufFile.open(out)) {
            FormatException e = assertThrows(FormatException.class, () -> Deepseek2Metadata.read(f));
            assertEquals(out + ": jseek.config disagrees with the deepseek2.* keys (scoring_func: sigmoid vs softmax); remove jseek.config to use the keys alone",
                    e.getMessage());
        }
        w.put("deepseek2.expert_gating_func", GgufValue.u32(3));
        w.write(out);
        try (GgufFile f = GgufFile.open(out)) {
            FormatException e = assertThrows(FormatException.class, () -> Deepseek2Metadata.read(f));
            assertEquals(out + ": deepseek2.expert_gating_func is 3; jseek runs softmax (1, DeepSeek-V2) and sigmoid (2, DeepSeek-V3) routers",
                    e.getMessage());
        }
    }

    @Test
    void q8_0SplitKvBIsQuantizedAlongTheTransposedRowsAndRebuiltExactly(@TempDir Path tmp) throws Exception {
        // qk_nope 32 and kv_lora_rank 32: attn_k_b rows (length qk_nope) and attn_v_b rows (kv_lora_rank) are whole Q8_0 blocks
        ModelConfig c = dev.jseek.model.ConfigEdits.edit(Presets.get("tiny"), o -> o.put("qk_nope_head_dim", 32));
        Path hf = tmp.resolve("hf"), out = tmp.resolve("q.gguf");
        dev.jseek.model.RandomInit.write(c, hf, 9, 0.05, DType.F32);
        GgufExporter.Result r = GgufExporter.export(hf, out, GgmlType.Q8_0, false, null);
        int h = c.numAttentionHeads(), nope = c.qkNopeHeadDim(), v = c.vHeadDim(), kvr = c.kvLoraRank();
        GgufFile gf = GgufFile.open(out);
        try (GgufWeights w = new GgufWeights(gf, Deepseek2Metadata.read(gf)); Checkpoint ck = Checkpoint.open(hf)) {
            assertEquals(GgmlType.Q8_0, w.file().tensor("blk.1.attn_k_b.weight").type(), r.fallbacks().toString());
            assertEquals(GgmlType.Q8_0, w.file().tensor("blk.1.attn_v_b.weight").type());
            String n = "model.layers.1.self_attn.kv_b_proj.weight";
            float[] x = ck.floats(n), want = new float[x.length];
            byte[] blk = new byte[34];
            float[] row = new float[Math.max(nope, kvr)], deq = new float[row.length];
            for (int hd = 0; hd < h; hd++) {
                for (int cc = 0; cc < kvr; cc++) { // k_b row (hd, cc) = kv_b[hd*(nope+v) + j][cc], j < nope
                    for (int j = 0; j < nope; j++) row[j] = x[(hd * (nope + v) + j) * kvr + cc];
                    for (int b = 0; b < nope; b += 32) {
                        Q8_0.quantizeBlock(row, b, blk, 0);
                        Q8_0.dequantizeBlock(java.lang.foreign.MemorySegment.ofArray(blk), 0, deq, b);
                    }
                    for (int j = 0; j < nope; j++) want[(hd * (nope + v) + j) * kvr + cc] = deq[j];
                }
                for (int i = 0; i < v; i++) { // v_b rows are kv_b rows
                    int base = (hd * (nope + v) + nope + i) * kvr;
                    for (int b = 0; b < kvr; b += 32) {
                        Q8_0.quantizeBlock(x, base + b, blk, 0);
                        Q8_0.dequantizeBlock(java.lang.foreign.MemorySegment.ofArray(blk), 0, want, base + b);
                    }
                }
            }
            Matrix m = w.matrix(n, h * (nope + v), kvr);
            assertEquals(DType.F32, m.dtype());
            float[] got = new float[x.length];
            for (int i = 0; i < m.rows(); i++) dev.jseek.kernels.WeightRows.decodeRow(m, i, got, i * kvr);
            assertBitwise(want, got, "rebuilt kv_b");
        }
    }
}
