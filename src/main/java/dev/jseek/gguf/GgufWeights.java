package dev.jseek.gguf;

import dev.jseek.io.FormatException;
import dev.jseek.model.ModelConfig;
import dev.jseek.model.WeightSource;
import dev.jseek.tensor.DType;
import dev.jseek.tensor.Matrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * The tensors of a {@code deepseek2} GGUF file under their Hugging Face names (docs/architecture.md §2.2), so {@link
 * dev.jseek.model.DeepSeekV3#load} runs a GGUF model like an HF checkpoint. Names map through {@link
 * Deepseek2Names}. What each GGUF type becomes:
 * <ul>
 *   <li>F32, F16, BF16, Q8_0, Q4_K, Q5_K and Q6_K weights: zero-copy {@link Matrix} views of the mapping, a routed
 *       expert being the slice of its stacked 3-D tensor; the kernels compute on the stored format (fused
 *       dequantize-and-dot GEMV, GEMM panels decoded while packing), so the weights stay in the page cache and
 *       resident memory is about the file's size;</li>
 *   <li>kv_b_proj [n_heads * (qk_nope + v), kv_lora_rank]: {@code attn_kv_b} when the file has it (legacy layout),
 *       else rebuilt from llama.cpp's split {@code attn_k_b} [n_heads, kv_lora_rank, qk_nope] (transposed per head)
 *       and {@code attn_v_b} [n_heads, v, kv_lora_rank]: an exact element permutation, kept in the file's type for
 *       F32/F16/BF16, decoded to F32 for block types, where only the naive attention mode asks for it (the absorbed
 *       attention reads the stored halves, {@link #kvBHalves});</li>
 *   <li>other ggml types (K-quants, IQ*, ...): a {@link FormatException} naming the tensor and type.</li>
 * </ul>
 * {@link #close()} unmaps the file and frees the rebuilt tensors.
 */
public final class GgufWeights implements WeightSource, AutoCloseable, dev.jseek.io.FileBacked {
    private final GgufFile file;
    private final ModelConfig config;
    private final Arena arena = Arena.ofShared();
    private final java.util.Map<String, Deepseek2Names.Target> names;

    public GgufWeights(GgufFile file, ModelConfig config) {
        this.file = file;
        this.config = config;
        this.names = Deepseek2Names.index(new dev.jseek.model.TensorSchema(config));
    }

    public GgufFile file() { return file; }

    @Override public void checkUnchanged() { file.checkUnchanged(); }

    private Deepseek2Names.Target target(String hf) {
        Deepseek2Names.Target t = names.get(hf);
        if (t == null) throw new FormatException(file.path() + ": no GGUF tensor corresponds to '" + hf + "'");
        return t;
    }

    @Override public boolean has(String hf) {
        Deepseek2Names.Target t = names.get(hf);
        if (t == null) return false;
        if (t.kind() == Deepseek2Names.Kind.KV_B)
            return file.has(t.gguf()) || (file.has(Deepseek2Names.kB(t.gguf())) && file.has(Deepseek2Names.vB(t.gguf())));
        if (!file.has(t.gguf())) return false;
        return t.kind() != Deepseek2Names.Kind.EXPERT || t.expert() < file.tensor(t.gguf()).shape()[0];
    }

    private FormatException shapeError(GgufTensorInfo t, String hf, String expected) {
        return new FormatException(file.path() + ": tensor '" + t.name() + "' (for " + hf + ") has shape " + t.shapeString()
                + " (dims " + Arrays.toString(t.dims()) + "), expected " + expected);
    }

    private void requireDecodable(GgufTensorInfo t, String hf) {
        if (!t.type().decodable())
            throw new FormatException(file.path() + ": tensor '" + t.name() + "' (for " + hf + ") is " + t.type()
                    + "; jseek reads F32, F16, BF16, Q8_0, Q4_K, Q5_K and Q6_K tensors only");
    }

    /** The element type of a tensor that is a plain permutation-safe element type (F32, F16, BF16), else null. */
    private static DType plain(GgmlType t) {
        DType d = t.dtype();
        return d != null && !d.isBlock() ? d : null;
    }

    @Override public Matrix matrix(String hf, int rows, int cols) {
        Deepseek2Names.Target tg = target(hf);
        if (tg.kind() == Deepseek2Names.Kind.KV_B && !file.has(tg.gguf())) return rebuildKvB(tg.gguf(), hf, rows, cols);
        GgufTensorInfo t = file.tensor(tg.gguf());
        requireDecodable(t, hf);
        long[] s = t.shape();
        long sliceOff = 0;
        if (tg.kind() == Deepseek2Names.Kind.EXPERT) {
            if (s.length != 3 || s[1] != rows || s[2] != cols || tg.expert() >= s[0])
                throw shapeError(t, hf, "[n_expert > " + tg.expert() + ", " + rows + ", " + cols + "]");
            sliceOff = t.type().byteSize((long) tg.expert() * rows * cols);
        } else if (s.length != 2 || s[0] != rows || s[1] != cols) {
            throw shapeError(t, hf, "[" + rows + ", " + cols + "]");
        }
        MemorySegment seg = file.segment(t.name()).asSlice(sliceOff, t.type().byteSize((long) rows * cols));
        return new Matrix(t.type().dtype(), rows, cols, seg, null);
    }

    @Override public float[] floats(String hf, long... shape) {
        Deepseek2Names.Target tg = target(hf);
        if (tg.kind() != Deepseek2Names.Kind.PLAIN) {
            if (shape.length != 2) throw new FormatException(file.path() + ": '" + hf + "' is 2-D, asked for shape " + Arrays.toString(shape));
            Matrix m = matrix(hf, Math.toIntExact(shape[0]), Math.toIntExact(shape[1]));
            float[] out = new float[Math.toIntExact(m.elementCount())];
            for (int r = 0; r < m.rows(); r++) dev.jseek.kernels.WeightRows.decodeRow(m, r, out, r * m.cols());
            return out;
        }
        GgufTensorInfo t = file.tensor(tg.gguf());
        requireDecodable(t, hf);
        if (!Arrays.equals(t.shape(), shape)) throw shapeError(t, hf, Arrays.toString(shape));
        if (t.elementCount() > Integer.MAX_VALUE - 8) throw shapeError(t, hf, "fewer than 2^31 elements");
        float[] out = new float[(int) t.elementCount()];
        GgmlCodec.decode(t.type(), file.segment(t.name()), 0, out.length, out, 0);
        return out;
    }

    /**
     * attn_k_b [H, kvr, nope] and attn_v_b [H, v, kvr] as 2-D views of the mapping, [H * kvr, nope] and [H * v, kvr],
     * in the file's type, when they are block-typed (Q8_0, K-quants): the absorbed attention reads these (decode by
     * the GEMV kernel, prefill by the packed GEMM) and kv_b_proj, an F32 rebuild (4x the bytes of Q8_0), is built only
     * when the naive mode first asks for it (system property {@code jseek.kvBHalves}, default true; false: no halves,
     * kv_b_proj rebuilt at load; docs/quantization.md, "The decode step"). Null for F32/F16/BF16 halves: their kv_b_proj is a permutation in the
     * file's type, multiplied in the order an HF checkpoint's is (an F32 export gives the HF model's logits bit for bit).
     */
    @Override public Matrix[] kvBHalves(String hf, int h, int nope, int v, int kvr) {
        if (!KV_B_HALVES) return null;
        Deepseek2Names.Target tg = names.get(hf);
        if (tg == null || tg.kind() != Deepseek2Names.Kind.KV_B || file.has(tg.gguf())) return null;
        String k = Deepseek2Names.kB(tg.gguf()), vn = Deepseek2Names.vB(tg.gguf());
        if (!file.has(k) || !file.has(vn)) return null;
        GgufTensorInfo kb = file.tensor(k), vb = file.tensor(vn);
        if (kb.type() == vb.type() && plain(kb.type()) != null) return null;
        requireDecodable(kb, hf);
        requireDecodable(vb, hf);
        if (!Arrays.equals(kb.shape(), new long[] {h, kvr, nope})) throw shapeError(kb, hf, "[" + h + ", " + kvr + ", " + nope + "]");
        if (!Arrays.equals(vb.shape(), new long[] {h, v, kvr})) throw shapeError(vb, hf, "[" + h + ", " + v + ", " + kvr + "]");
        return new Matrix[] {
            new Matrix(kb.type().dtype(), h * kvr, nope, file.segment(k).asSlice(0, kb.type().byteSize((long) h * kvr * nope)), null),
            new Matrix(vb.type().dtype(), h * v, kvr, file.segment(vn).asSlice(0, vb.type().byteSize((long) h * v * kvr)), null)};
    }

    static final boolean KV_B_HALVES = Boolean.parseBoolean(System.getProperty("jseek.kvBHalves", "true"));

    /**
     * kv_b_proj [H*(nope+v), kvr] from attn_k_b [H, kvr, nope] (row (h, j) = k_b[h][:, j]) and attn_v_b [H, v, kvr]
     * (rows h*(nope+v)+nope+i = v_b[h][i]).
     */
    private Matrix rebuildKvB(String kvB, String hf, int rows, int cols) {
        int h = config.numAttentionHeads(), nope = config.qkNopeHeadDim(), v = config.vHeadDim(), kvr = config.kvLoraRank();
        if (rows != h * (nope + v) || cols != kvr)
            throw new FormatException(file.path() + ": " + hf + " asked as [" + rows + ", " + cols + "], the config gives ["
                    + h * (nope + v) + ", " + kvr + "]");
        GgufTensorInfo kb = file.tensor(Deepseek2Names.kB(kvB)), vb = file.tensor(Deepseek2Names.vB(kvB));
        requireDecodable(kb, hf);
        requireDecodable(vb, hf);
        if (!Arrays.equals(kb.shape(), new long[] {h, kvr, nope})) throw shapeError(kb, hf, "[" + h + ", " + kvr + ", " + nope + "]");
        if (!Arrays.equals(vb.shape(), new long[] {h, v, kvr})) throw shapeError(vb, hf, "[" + h + ", " + v + ", " + kvr + "]");
        MemorySegment ks = file.segment(kb.name()), vs = file.segment(vb.name());
        if (kb.type() == vb.type() && plain(kb.type()) != null) { // exact permutation of raw elements, dtype kept
            int e = kb.type().typeSize;
            MemorySegment out = arena.allocate((long) rows * cols * e, 64);
            for (int hd = 0; hd < h; hd++) {
                for (int j = 0; j < nope; j++)
                    for (int c = 0; c < kvr; c++)
                        MemorySegment.copy(ks, (((long) hd * kvr + c) * nope + j) * e, out, (((long) hd * (nope + v) + j) * kvr + c) * e, e);
                MemorySegment.copy(vs, (long) hd * v * kvr * e, out, ((long) hd * (nope + v) + nope) * kvr * e, (long) v * kvr * e);
            }
            return new Matrix(plain(kb.type()), rows, cols, out, null);
        }
        float[] k = new float[h * kvr * nope], vv = new float[h * v * kvr];
        GgmlCodec.decode(kb.type(), ks, 0, k.length, k, 0);
        GgmlCodec.decode(vb.type(), vs, 0, vv.length, vv, 0);
        float[] out = new float[rows * cols];
        for (int hd = 0; hd < h; hd++) {
            for (int j = 0; j < nope; j++)
                for (int c = 0; c < kvr; c++) out[(hd * (nope + v) + j) * kvr + c] = k[(hd * kvr + c) * nope + j];
            System.arraycopy(vv, hd * v * kvr, out, (hd * (nope + v) + nope) * kvr, v * kvr);
        }
        return Matrix.ofF32(out, rows, cols);
    }

    @Override public void close() {
        file.close();
        if (arena.scope().isAlive()) arena.close();
    }
}
