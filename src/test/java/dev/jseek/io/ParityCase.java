package dev.jseek.io;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Test helper: one parity fixture written by {@code tools/make_parity_fixtures.py} (an independent float64 PyTorch
 * DeepSeek-V3 forward, docs/architecture.md §2-§6), in {@code src/test/resources/parity/<name>/}:
 * <ul>
 *   <li>{@code config.json}: HF DeepSeek-V3 config (every docs/architecture.md §2.1 field; {@code q_lora_rank} may be null;
 *       {@code rope_scaling} yarn; the fp8 case adds {@code quantization_config}).</li>
 *   <li>{@code model.safetensors}: HF tensor names (docs/architecture.md §2.2), main layers 0..L-1 and the MTP layer L =
 *       num_hidden_layers, whose {@code embed_tokens}/{@code shared_head.head} are byte copies of the main ones.
 *       Cases yarn_qlora and no_qlora are all F32; fp8 has F8_E4M3 Linears with F32 {@code weight_scale_inv},
 *       BF16 embeddings/head/norms/router/eh_proj, F32 {@code e_score_correction_bias}.</li>
 *   <li>{@code case.json}: {@code tokens} (T ids), {@code notes}, {@code seed}, {@code logits_std},
 *       {@code min_group_margin}, {@code min_expert_margin} (routing gaps, all &gt; 2e-3), {@code hidden_rms}.</li>
 *   <li>{@code logits.npy} f32 [T, vocab]: main-model logits at every position (positions 0..T-1).</li>
 *   <li>{@code mtp_logits.npy} f32 [T-1, vocab]: MTP depth 1 at slot i = 0..T-2: eh_proj([enorm(emb(t[i+1])) ;
 *       hnorm(h_i)]) with h_i the main hidden AFTER model.norm, one MoE block at RoPE position i (causal over the
 *       T-1 slots), shared_head.norm, main lm_head.</li>
 *   <li>{@code hidden_states.npy} f32 [L+1, T, hidden]: [0] the embeddings, [l+1] the residual stream after
 *       layer l (before model.norm).</li>
 *   <li>{@code mtp_hidden.npy} f32 [T-1, hidden]: output of the MTP block, before shared_head.norm.</li>
 *   <li>{@code topk.npy} i32 [main MoE layers, T, top-k]: routed expert ids per token, ascending;
 *       {@code mtp_topk.npy} i32 [T-1, top-k] for the MTP block.</li>
 * </ul>
 * Arrays below are flat row-major copies of those files.
 */
public record ParityCase(String name, Path dir, JsonNode config, int[] tokens, String notes,
                         float[] logits, float[] mtpLogits, float[] hiddenStates, float[] mtpHidden,
                         int[] topk, int[] mtpTopk) {
    public static final Path ROOT = Path.of("src/test/resources/parity");
    public static final List<String> NAMES = List.of("yarn_qlora", "no_qlora", "fp8");

    /** Loads the fixture {@code name} and checks the array shapes against config and tokens. */
    public static ParityCase load(String name) {
        Path dir = ROOT.resolve(name);
        try {
            JsonNode config = SafetensorsFile.JSON.readTree(Files.readAllBytes(dir.resolve("config.json")));
            JsonNode c = SafetensorsFile.JSON.readTree(Files.readAllBytes(dir.resolve("case.json")));
            int[] tokens = new int[c.get("tokens").size()];
            for (int i = 0; i < tokens.length; i++) tokens[i] = c.get("tokens").get(i).asInt();
            int t = tokens.length, v = config.get("vocab_size").asInt(), d = config.get("hidden_size").asInt();
            int layers = config.get("num_hidden_layers").asInt(), k = config.get("num_experts_per_tok").asInt();
            int moe = layers - config.get("first_k_dense_replace").asInt();
            return new ParityCase(name, dir, config, tokens, c.get("notes").asText(),
                    Npy.readFloats(dir.resolve("logits.npy"), t, v),
                    Npy.readFloats(dir.resolve("mtp_logits.npy"), t - 1, v),
                    Npy.readFloats(dir.resolve("hidden_states.npy"), layers + 1, t, d),
                    Npy.readFloats(dir.resolve("mtp_hidden.npy"), t - 1, d),
                    Npy.readInts(dir.resolve("topk.npy"), moe, t, k),
                    Npy.readInts(dir.resolve("mtp_topk.npy"), t - 1, k));
        } catch (IOException e) {
            throw new FormatException(dir + ": cannot read parity case: " + e, e);
        }
    }

    public Checkpoint openCheckpoint() { return Checkpoint.open(dir); }

    public int cfg(String field) { return config.get(field).asInt(); }

    public int seqLen() { return tokens.length; }
}
