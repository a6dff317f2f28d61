package dev.jseek.gguf;

import dev.jseek.io.Checkpoint;
import dev.jseek.kernels.WeightRows;
import dev.jseek.model.ModelConfig;
import dev.jseek.tensor.Matrix;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Converts a Hugging Face layout DeepSeek-V3 model (config.json + safetensors, F32/BF16/F16 or the FP8 release
 * format with 128x128 block scales, read through {@link Checkpoint}) into a llama.cpp {@code deepseek2} GGUF,
 * following llama.cpp's converter ({@code DeepseekV2Model} in convert_hf_to_gguf.py):
 * <ul>
 *   <li>metadata: {@link Deepseek2Metadata}; tokenizer: {@link HfTokenizerMetadata} when a tokenizer.json is given
 *       (else {@code tokenizer.ggml.model} = "none": llama.cpp loads the weights but has no vocabulary);</li>
 *   <li>names: {@link Deepseek2Names}; the routed experts of a layer stacked into one 3-D tensor per projection,
 *       [n_expert, out, in] (ggml dims [in, out, n_expert]); kv_b_proj split into {@code attn_k_b} [n_heads,
 *       kv_lora_rank, qk_nope] (each head's K part transposed) and {@code attn_v_b} [n_heads, v, kv_lora_rank], as
 *       llama.cpp's MLA code expects;</li>
 *   <li>types: per tensor from the {@link QuantMix} ({@code --type}: one type, or llama.cpp's Q4_K_M mix); F32 for
 *       1-D tensors (norms, router bias) and for the router {@code ffn_gate_inp} (llama.cpp keeps both in F32); rows
 *       (ggml dim 0) that are not whole blocks of the chosen type fall back ({@link QuantMix#fallback}: Q8_0, else
 *       F32; listed in {@link Result#fallbacks}). Block types are written with ggml's reference rounding;</li>
 *   <li>MTP: skipped unless asked ({@code includeMtp}), as llama.cpp's converter skips it; when included, block_count
 *       counts the MTP layers and {@code nextn_predict_layers} is set, with {@code blk.L.nextn.*} tensors (the MTP
 *       embedding/head copies are not written: jseek uses the main ones, llama.cpp falls back to them too).</li>
 * </ul>
 * FP8 weights are dequantized with their block scales (value = fp8 * scale in float32) and then encoded. Tensors are
 * streamed row by row, so memory stays at one tensor's rows (plus the tokenizer).
 */
public final class GgufExporter {
    private GgufExporter() {}

    /** What an export wrote. */
    public record Result(ModelConfig config, int tensors, int mtpLayers, long bytes, List<String> fallbacks, boolean tokenizer) {}

    /** {@link #export(Path, Path, QuantMix, boolean, Path)} with every weight of type {@code type}. */
    public static Result export(Path modelDir, Path out, GgmlType type, boolean includeMtp, Path tokenizerJson) {
        QuantMix mix = QuantMix.of(type);
        if (mix == null) throw new IllegalArgumentException("export type must be F32, F16, BF16, Q8_0 or Q6_K, got " + type);
        return export(modelDir, out, mix, includeMtp, tokenizerJson);
    }

    /**
     * Writes the model in {@code modelDir} to {@code out} with weight types from {@code mix}. {@code tokenizerJson}
     * may be null (no vocabulary in the file).
     */
    public static Result export(Path modelDir, Path out, QuantMix mix, boolean includeMtp, Path tokenizerJson) {
        ModelConfig c = ModelConfig.load(modelDir.resolve("config.json"));
        try (Checkpoint ck = Checkpoint.open(modelDir)) {
            int mtp = 0;
            while (includeMtp && mtp < c.numNextnPredictLayers() && ck.has("model.layers." + (c.numHiddenLayers() + mtp) + ".eh_proj.weight")) mtp++;
            GgufWriter w = new GgufWriter();
            Path name = modelDir.toAbsolutePath().normalize().getFileName();
            w.put("general.name", GgufValue.string(name == null ? "jseek" : name.toString()));
            w.put("general.file_type", GgufValue.u32(mix.fileType));
            w.put("general.quantization_version", GgufValue.u32(2));
            Deepseek2Metadata.write(c, mtp, w);
            if (tokenizerJson != null) HfTokenizerMetadata.write(tokenizerJson, c.vocabSize(), w);
            else w.put("tokenizer.ggml.model", GgufValue.string("none"));
            Plan p = new Plan(c, ck, w, mix, c.numHiddenLayers() + mtp);
            p.tensors(mtp);
            w.write(out);
            long bytes = Files.size(out);
            return new Result(Deepseek2Metadata.exported(c, mtp), p.count, mtp, bytes, p.fallbacks, tokenizerJson != null);
        } catch (java.io.IOException e) {
            throw new dev.jseek.io.FormatException(out + ": cannot stat: " + e, e);
        }
    }

    /** The tensor list and how each tensor's bytes are produced from the checkpoint. */
    private static final class Plan {
        final ModelConfig c;
        final Checkpoint ck;
        final GgufWriter w;
        final QuantMix mix;
        final int blocks;
        final List<String> fallbacks = new ArrayList<>();
        int count;

        Plan(ModelConfig c, Checkpoint ck, GgufWriter w, QuantMix mix, int blocks) {
            this.c = c;
            this.ck = ck;
            this.w = w;
            this.mix = mix;
            this.blocks = blocks;
        }

        void tensors(int mtp) {
            int d = c.hiddenSize(), v = c.vocabSize();
            matrix("token_embd.weight", "model.embed_tokens.weight", v, d);
            for (int l = 0; l < c.numHiddenLayers() + mtp; l++) block(l, l >= c.numHiddenLayers());
            vector("output_norm.weight", "model.norm.weight", d);
            if (!c.tieWordEmbeddings()) matrix("output.weight", "lm_head.weight", v, d);
        }

        private void block(int l, boolean isMtp) {
            String hf = "model.layers." + l + ".", g = "blk." + l + ".";
            int d = c.hiddenSize(), h = c.numAttentionHeads();
            if (isMtp) {
                vector(g + "nextn.enorm.weight", hf + "enorm.weight", d);
                vector(g + "nextn.hnorm.weight", hf + "hnorm.weight", d);
                matrix(g + "nextn.eh_proj.weight", hf + "eh_proj.weight", d, 2 * d);
                vector(g + "nextn.shared_head_norm.weight", hf + "shared_head.norm.weight", d);
            }
            vector(g + "attn_norm.weight", hf + "input_layernorm.weight", d);
            String a = hf + "self_attn.";
            if (c.hasQLora()) {
                matrix(g + "attn_q_a.weight", a + "q_a_proj.weight", c.qLoraRank(), d);
                vector(g + "attn_q_a_norm.weight", a + "q_a_layernorm.weight", c.qLoraRank());
                matrix(g + "attn_q_b.weight", a + "q_b_proj.weight", h * c.qkHeadDim(), c.qLoraRank());
            } else {
                matrix(g + "attn_q.weight", a + "q_proj.weight", h * c.qkHeadDim(), d);
            }
            matrix(g + "attn_kv_a_mqa.weight", a + "kv_a_proj_with_mqa.weight", c.kvLoraRank() + c.qkRopeHeadDim(), d);
            vector(g + "attn_kv_a_norm.weight", a + "kv_a_layernorm.weight", c.kvLoraRank());
            kvB(g, a + "kv_b_proj.weight");
            matrix(g + "attn_output.weight", a + "o_proj.weight", d, h * c.vHeadDim());
            vector(g + "ffn_norm.weight", hf + "post_attention_layernorm.weight", d);
            String m = hf + "mlp.";
            if (!c.isMoeLayer(l)) {
                int f = c.intermediateSize();
                matrix(g + "ffn_gate.weight", m + "gate_proj.weight", f, d);
                matrix(g + "ffn_up.weight", m + "up_proj.weight", f, d);
                matrix(g + "ffn_down.weight", m + "down_proj.weight", d, f);
                return;
            }
            int e = c.nRoutedExperts(), f = c.moeIntermediateSize(), fs = f * c.nSharedExperts();
            router(g + "ffn_gate_inp.weight", m + "gate.weight", e, d);
            vector(g + "exp_probs_b.bias", m + "gate.e_score_correction_bias", e);
            experts(g + "ffn_down_exps.weight", m, "down_proj", d, f);
            experts(g + "ffn_gate_exps.weight", m, "gate_proj", f, d);
            experts(g + "ffn_up_exps.weight", m, "up_proj", f, d);
            if (c.nSharedExperts() > 0) {
                matrix(g + "ffn_gate_shexp.weight", m + "shared_experts.gate_proj.weight", fs, d);
                matrix(g + "ffn_up_shexp.weight", m + "shared_experts.up_proj.weight", fs, d);
                matrix(g + "ffn_down_shexp.weight", m + "shared_experts.down_proj.weight", d, fs);
            }
        }

        /** The type to store weight {@code gguf} whose rows have {@code rowLength} elements. */
        private GgmlType typeFor(String gguf, long rowLength) {
            GgmlType want = mix.typeFor(gguf, blocks), t = QuantMix.fallback(want, rowLength);
            if (t != want) fallbacks.add(gguf + " (row length " + rowLength + " is not a multiple of " + want.blockSize + ": " + t + ")");
            return t;
        }

        private void vector(String gguf, String hf, int n) {
            float[] x = ck.floats(hf, n);
            w.addTensor(gguf, GgmlType.F32, new long[] {n}, x);
            count++;
        }

        private void matrix(String gguf, String hf, int rows, int cols) {
            write(gguf, hf, rows, cols, typeFor(gguf, cols));
        }

        /** The router stays F32 (llama.cpp's converter writes it F32 and its quantizer never quantizes it). */
        private void router(String gguf, String hf, int rows, int cols) {
            write(gguf, hf, rows, cols, GgmlType.F32);
        }

        private void write(String gguf, String hf, int rows, int cols, GgmlType t) {
            Matrix src = ck.matrix(hf, rows, cols); // validates name and shape now, decodes while writing
            w.addTensor(gguf, t, new long[] {rows, cols}, out -> {
                float[] row = new float[cols];
                for (int r = 0; r < rows; r++) {
                    WeightRows.decodeRow(src, r, row, 0);
                    GgmlCodec.encode(t, row, 0, cols, out);
                }
            });
            count++;
        }

        private void experts(String gguf, String mlp, String proj, int rows, int cols) {
            GgmlType t = typeFor(gguf, cols);
            int n = c.nRoutedExperts();
            Matrix[] src = new Matrix[n];
            for (int e = 0; e < n; e++) src[e] = ck.matrix(mlp + "experts." + e + "." + proj + ".weight", rows, cols);
            w.addTensor(gguf, t, new long[] {n, rows, cols}, out -> {
                float[] row = new float[cols];
                for (Matrix m : src) {
                    for (int r = 0; r < rows; r++) {
                        WeightRows.decodeRow(m, r, row, 0);
                        GgmlCodec.encode(t, row, 0, cols, out);
                    }
                }
            });
            count++;
        }

        /** kv_b_proj [H*(nope+v), kvr] as attn_k_b [H, kvr, nope] and attn_v_b [H, v, kvr]. */
        private void kvB(String g, String hf) {
            int h = c.numAttentionHeads(), nope = c.qkNopeHeadDim(), v = c.vHeadDim(), kvr = c.kvLoraRank();
            Matrix src = ck.matrix(hf, h * (nope + v), kvr);
            GgmlType tk = typeFor(g + "attn_k_b.weight", nope), tv = typeFor(g + "attn_v_b.weight", kvr);
            w.addTensor(g + "attn_k_b.weight", tk, new long[] {h, kvr, nope}, out -> {
                float[] rows = new float[nope * kvr], row = new float[nope];
                for (int hd = 0; hd < h; hd++) {
                    for (int j = 0; j < nope; j++) WeightRows.decodeRow(src, hd * (nope + v) + j, rows, j * kvr);
                    for (int cc = 0; cc < kvr; cc++) {
                        for (int j = 0; j < nope; j++) row[j] = rows[j * kvr + cc];
                        GgmlCodec.encode(tk, row, 0, nope, out);
                    }
                }
            });
            w.addTensor(g + "attn_v_b.weight", tv, new long[] {h, v, kvr}, out -> {
                float[] row = new float[kvr];
                for (int hd = 0; hd < h; hd++)
                    for (int i = 0; i < v; i++) {
                        WeightRows.decodeRow(src, hd * (nope + v) + nope + i, row, 0);
                        GgmlCodec.encode(tv, row, 0, kvr, out);
                    }
            });
            count += 2;
        }
    }
}
