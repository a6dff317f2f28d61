package dev.jseek.gguf;

import dev.jseek.io.Checkpoint;
import dev.jseek.kernels.WeightRows;
import dev.jseek.model.ModelConfig;
import dev.jseek.model.TensorSchema;
import dev.jseek.model.TensorSchema.Slot;
import dev.jseek.model.WeightSource;
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
            while (includeMtp && mtp < c.numNextnPredictLayers() && ck.has(Slot.EH_PROJ.hfName(c.numHiddenLayers() + mtp, -1))) mtp++;
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
        final GgufWriter w;
        final QuantMix mix;
        final int blocks;
        final TensorSchema s;
        final WeightSource in;
        final List<String> fallbacks = new ArrayList<>();
        int count;

        Plan(ModelConfig c, Checkpoint ck, GgufWriter w, QuantMix mix, int blocks) {
            this.c = c;
            this.w = w;
            this.mix = mix;
            this.blocks = blocks;
            this.s = new TensorSchema(c);
            this.in = WeightSource.of(ck);
        }

        void tensors(int mtp) {
            matrix(s.get(Slot.EMBED), null);
            for (int l = 0; l < c.numHiddenLayers() + mtp; l++) block(l, l >= c.numHiddenLayers());
            vector(s.get(Slot.FINAL_NORM));
            if (!c.tieWordEmbeddings()) matrix(s.get(Slot.HEAD), null);
        }

        /** One layer's tensors in llama.cpp's converter order (names and shapes from the schema). */
        private void block(int l, boolean isMtp) {
            if (isMtp) {
                vector(s.get(l, Slot.ENORM));
                vector(s.get(l, Slot.HNORM));
                matrix(s.get(l, Slot.EH_PROJ), null);
                vector(s.get(l, Slot.SHARED_HEAD_NORM));
            }
            vector(s.get(l, Slot.ATTN_NORM));
            if (c.hasQLora()) {
                matrix(s.get(l, Slot.Q_A), null);
                vector(s.get(l, Slot.Q_A_NORM));
                matrix(s.get(l, Slot.Q_B), null);
            } else {
                matrix(s.get(l, Slot.Q), null);
            }
            matrix(s.get(l, Slot.KV_A), null);
            vector(s.get(l, Slot.KV_A_NORM));
            kvB(s.get(l, Slot.KV_B));
            matrix(s.get(l, Slot.O), null);
            vector(s.get(l, Slot.FFN_NORM));
            if (!c.isMoeLayer(l)) {
                matrix(s.get(l, Slot.MLP_GATE), null);
                matrix(s.get(l, Slot.MLP_UP), null);
                matrix(s.get(l, Slot.MLP_DOWN), null);
                return;
            }
            matrix(s.get(l, Slot.ROUTER), GgmlType.F32);
            if (c.hasRouterBias()) vector(s.get(l, Slot.ROUTER_BIAS));
            experts(l, Slot.EXPERT_DOWN);
            experts(l, Slot.EXPERT_GATE);
            experts(l, Slot.EXPERT_UP);
            if (c.nSharedExperts() > 0) {
                matrix(s.get(l, Slot.SHARED_GATE), null);
                matrix(s.get(l, Slot.SHARED_UP), null);
                matrix(s.get(l, Slot.SHARED_DOWN), null);
            }
        }

        /**
         * The type to store weight {@code gguf} whose rows have {@code rowLength} elements: {@code fixed} when given
         * (the router: F32), else the mix's type; then the row-length fallback.
         */
        private GgmlType typeFor(String gguf, GgmlType fixed, long rowLength) {
            GgmlType want = fixed != null ? fixed : mix.typeFor(gguf, blocks), t = QuantMix.fallback(want, rowLength);
            if (t != want) fallbacks.add(gguf + " (row length " + rowLength + " is not a multiple of " + want.blockSize + ": " + t + ")");
            return t;
        }

        private void vector(TensorSchema.Tensor t) {
            float[] x = in.floats(t);
            w.addTensor(Deepseek2Names.map(t).gguf(), GgmlType.F32, t.shape(), x);
            count++;
        }

        private void matrix(TensorSchema.Tensor spec, GgmlType want) {
            String gguf = Deepseek2Names.map(spec).gguf();
            int rows = spec.rows(), cols = spec.cols();
            GgmlType t = typeFor(gguf, want, cols);
            Matrix src = in.matrix(spec); // validates name and shape now, decodes while writing
            w.addTensor(gguf, t, new long[] {rows, cols}, out -> {
                float[] row = new float[cols];
                for (int r = 0; r < rows; r++) {
                    WeightRows.decodeRow(src, r, row, 0);
                    GgmlCodec.encode(t, row, 0, cols, out);
                }
            });
            count++;
        }

        /** The routed experts' projection {@code slot} of layer {@code l}, stacked into one 3-D tensor. */
        private void experts(int l, Slot slot) {
            TensorSchema.Tensor first = s.expert(l, 0, slot);
            String gguf = Deepseek2Names.map(first).gguf();
            int rows = first.rows(), cols = first.cols();
            GgmlType t = typeFor(gguf, null, cols);
            int n = c.nRoutedExperts();
            Matrix[] src = new Matrix[n];
            for (int e = 0; e < n; e++) src[e] = in.matrix(s.expert(l, e, slot));
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
        private void kvB(TensorSchema.Tensor spec) {
            int h = c.numAttentionHeads(), nope = c.qkNopeHeadDim(), v = c.vHeadDim(), kvr = c.kvLoraRank();
            Matrix src = in.matrix(spec);
            String kvb = Deepseek2Names.map(spec).gguf(), kb = Deepseek2Names.kB(kvb), vb = Deepseek2Names.vB(kvb);
            GgmlType tk = typeFor(kb, null, nope), tv = typeFor(vb, null, kvr);
            w.addTensor(kb, tk, new long[] {h, kvr, nope}, out -> {
                float[] rows = new float[nope * kvr], row = new float[nope];
                for (int hd = 0; hd < h; hd++) {
                    for (int j = 0; j < nope; j++) WeightRows.decodeRow(src, hd * (nope + v) + j, rows, j * kvr);
                    for (int cc = 0; cc < kvr; cc++) {
                        for (int j = 0; j < nope; j++) row[j] = rows[j * kvr + cc];
                        GgmlCodec.encode(tk, row, 0, nope, out);
                    }
                }
            });
            w.addTensor(vb, tv, new long[] {h, v, kvr}, out -> {
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
