package dev.jseek.io;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/**
 * The parity fixtures are loadable through {@link Checkpoint} and self-consistent: every tensor docs/architecture.md §2.2 names for
 * the config is present with its shape and dtype (FP8 with scales in the fp8 case), the MTP layer's embedding/head
 * are byte copies, the first hidden state is the embedding lookup, logits = lm_head(model.norm(last hidden)) and
 * mtp_logits = lm_head(shared_head.norm(mtp hidden)) recomputed in Java from the checkpoint, and the recorded routing
 * respects top-k and the group limit.
 */
class ParityFixturesTest {
    static final List<String> CASES = ParityCase.NAMES;

    record Spec(String name, long[] shape, boolean fp8) {}

    /** The tensors of docs/architecture.md §2.2 for this config. */
    static List<Spec> expected(ParityCase pc) {
        int d = pc.cfg("hidden_size"), v = pc.cfg("vocab_size"), L = pc.cfg("num_hidden_layers"), H = pc.cfg("num_attention_heads");
        int dn = pc.cfg("qk_nope_head_dim"), dr = pc.cfg("qk_rope_head_dim"), dv = pc.cfg("v_head_dim"), r = pc.cfg("kv_lora_rank");
        int E = pc.cfg("n_routed_experts"), mi = pc.cfg("moe_intermediate_size"), inter = pc.cfg("intermediate_size");
        boolean qlora = !pc.config().get("q_lora_rank").isNull();
        List<Spec> s = new ArrayList<>();
        s.add(new Spec("model.embed_tokens.weight", new long[] {v, d}, false));
        s.add(new Spec("model.norm.weight", new long[] {d}, false));
        s.add(new Spec("lm_head.weight", new long[] {v, d}, false));
        for (int l = 0; l <= L; l++) {
            String p = "model.layers." + l + ".";
            s.add(new Spec(p + "input_layernorm.weight", new long[] {d}, false));
            s.add(new Spec(p + "post_attention_layernorm.weight", new long[] {d}, false));
            if (qlora) {
                int q = pc.cfg("q_lora_rank");
                s.add(new Spec(p + "self_attn.q_a_proj.weight", new long[] {q, d}, true));
                s.add(new Spec(p + "self_attn.q_a_layernorm.weight", new long[] {q}, false));
                s.add(new Spec(p + "self_attn.q_b_proj.weight", new long[] {H * (dn + dr), q}, true));
            } else {
                s.add(new Spec(p + "self_attn.q_proj.weight", new long[] {H * (dn + dr), d}, true));
            }
            s.add(new Spec(p + "self_attn.kv_a_proj_with_mqa.weight", new long[] {r + dr, d}, true));
            s.add(new Spec(p + "self_attn.kv_a_layernorm.weight", new long[] {r}, false));
            s.add(new Spec(p + "self_attn.kv_b_proj.weight", new long[] {H * (dn + dv), r}, true));
            s.add(new Spec(p + "self_attn.o_proj.weight", new long[] {d, H * dv}, true));
            if (l < pc.cfg("first_k_dense_replace")) {
                s.add(new Spec(p + "mlp.gate_proj.weight", new long[] {inter, d}, true));
                s.add(new Spec(p + "mlp.up_proj.weight", new long[] {inter, d}, true));
                s.add(new Spec(p + "mlp.down_proj.weight", new long[] {d, inter}, true));
            } else {
                s.add(new Spec(p + "mlp.gate.weight", new long[] {E, d}, false));
                s.add(new Spec(p + "mlp.gate.e_score_correction_bias", new long[] {E}, false));
                for (int e = 0; e < E; e++) {
                    s.add(new Spec(p + "mlp.experts." + e + ".gate_proj.weight", new long[] {mi, d}, true));
                    s.add(new Spec(p + "mlp.experts." + e + ".up_proj.weight", new long[] {mi, d}, true));
                    s.add(new Spec(p + "mlp.experts." + e + ".down_proj.weight", new long[] {d, mi}, true));
                }
                int si = mi * pc.cfg("n_shared_experts");
                s.add(new Spec(p + "mlp.shared_experts.gate_proj.weight", new long[] {si, d}, true));
                s.add(new Spec(p + "mlp.shared_experts.up_proj.weight", new long[] {si, d}, true));
                s.add(new Spec(p + "mlp.shared_experts.down_proj.weight", new long[] {d, si}, true));
            }
            if (l == L) {
                s.add(new Spec(p + "enorm.weight", new long[] {d}, false));
                s.add(new Spec(p + "hnorm.weight", new long[] {d}, false));
                s.add(new Spec(p + "eh_proj.weight", new long[] {d, 2L * d}, false));
                s.add(new Spec(p + "embed_tokens.weight", new long[] {v, d}, false));
                s.add(new Spec(p + "shared_head.norm.weight", new long[] {d}, false));
                s.add(new Spec(p + "shared_head.head.weight", new long[] {v, d}, false));
            }
        }
        return s;
    }

    @ParameterizedTest
    @FieldSource("CASES")
    void everySpecTensorIsPresentWithItsShapeAndDtype(String name) {
        ParityCase pc = ParityCase.load(name);
        boolean fp8 = pc.config().has("quantization_config");
        assertEquals(name.equals("fp8"), fp8);
        assertEquals("deepseek_v3", pc.config().get("model_type").asText());
        assertTrue(pc.cfg("max_position_embeddings") > pc.config().get("rope_scaling").get("original_max_position_embeddings").asInt(), "YaRN active");
        try (Checkpoint ck = pc.openCheckpoint()) {
            Set<String> want = new HashSet<>();
            for (Spec s : expected(pc)) {
                want.add(s.name());
                TensorInfo t = ck.info(s.name());
                assertArrayEquals(s.shape(), t.shape(), s.name());
                DType dt = !fp8 ? DType.F32 : s.fp8() ? DType.F8_E4M3 : s.name().endsWith("e_score_correction_bias") ? DType.F32 : DType.BF16;
                assertEquals(dt, t.dtype(), s.name());
                if (s.fp8() && fp8) {
                    want.add(Checkpoint.scaleName(s.name()));
                    Matrix m = ck.matrix(s.name(), (int) s.shape()[0], (int) s.shape()[1]);
                    assertNotNull(m.scaleInv(), s.name());
                }
            }
            assertEquals(want, ck.names(), "no tensors beyond docs/architecture.md §2.2");
            int L = pc.cfg("num_hidden_layers");
            assertArrayEquals(ck.segment("model.embed_tokens.weight").toArray(ValueLayout.JAVA_BYTE),
                    ck.segment("model.layers." + L + ".embed_tokens.weight").toArray(ValueLayout.JAVA_BYTE));
            assertArrayEquals(ck.segment("lm_head.weight").toArray(ValueLayout.JAVA_BYTE),
                    ck.segment("model.layers." + L + ".shared_head.head.weight").toArray(ValueLayout.JAVA_BYTE));
        }
    }

    @ParameterizedTest
    @FieldSource("CASES")
    void logitsAreTheHeadOfTheNormedLastHiddenState(String name) {
        ParityCase pc = ParityCase.load(name);
        int d = pc.cfg("hidden_size"), v = pc.cfg("vocab_size"), L = pc.cfg("num_hidden_layers"), T = pc.seqLen();
        try (Checkpoint ck = pc.openCheckpoint()) {
            float[] emb = ck.floats("model.embed_tokens.weight", v, d);
            for (int t = 0; t < T; t++)
                for (int j = 0; j < d; j++)
                    assertEquals(emb[pc.tokens()[t] * d + j], pc.hiddenStates()[t * d + j], "embedding row of token " + t);
            float[] head = ck.floats("lm_head.weight", v, d);
            double eps = pc.config().get("rms_norm_eps").asDouble();
            checkHead(pc.hiddenStates(), (long) L * T * d, T, ck.floats("model.norm.weight", d), head, pc.logits(), d, v, eps, "logits");
            checkHead(pc.mtpHidden(), 0, T - 1, ck.floats("model.layers." + L + ".shared_head.norm.weight", d), head, pc.mtpLogits(), d, v, eps, "mtp_logits");
            double mean = 0, sq = 0;
            for (float x : pc.logits()) { mean += x; sq += (double) x * x; }
            mean /= pc.logits().length;
            assertTrue(Math.sqrt(sq / pc.logits().length - mean * mean) > 1.0, "logits must be far from uniform");
        }
    }

    private static void checkHead(float[] h, long off, int rows, float[] norm, float[] head, float[] want, int d, int v, double eps, String what) {
        double maxErr = 0;
        for (int t = 0; t < rows; t++) {
            double ss = 0;
            for (int j = 0; j < d; j++) ss += (double) h[(int) off + t * d + j] * h[(int) off + t * d + j];
            double inv = 1 / Math.sqrt(ss / d + eps);
            for (int o = 0; o < v; o++) {
                double s = 0;
                for (int j = 0; j < d; j++) s += h[(int) off + t * d + j] * inv * norm[j] * head[o * d + j];
                maxErr = Math.max(maxErr, Math.abs(s - want[t * v + o]));
            }
        }
        assertTrue(maxErr < 2e-5, what + " max error " + maxErr);
    }

    @ParameterizedTest
    @FieldSource("CASES")
    void routingRespectsTopKAndTheGroupLimit(String name) {
        ParityCase pc = ParityCase.load(name);
        int E = pc.cfg("n_routed_experts"), K = pc.cfg("num_experts_per_tok"), G = pc.cfg("n_group"), KG = pc.cfg("topk_group");
        int[][] all = {pc.topk(), pc.mtpTopk()};
        Set<Integer> used = new HashSet<>();
        for (int[] ids : all) {
            for (int row = 0; row < ids.length / K; row++) {
                Set<Integer> groups = new HashSet<>();
                for (int j = 0; j < K; j++) {
                    int e = ids[row * K + j];
                    assertTrue(e >= 0 && e < E);
                    if (j > 0) assertTrue(e > ids[row * K + j - 1], "ascending and distinct");
                    groups.add(e / (E / G));
                    used.add(e);
                }
                assertTrue(groups.size() <= KG, "experts from at most topk_group groups");
            }
        }
        assertTrue(used.size() > K, "routing varies across tokens");
    }
}
