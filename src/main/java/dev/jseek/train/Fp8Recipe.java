package dev.jseek.train;

import dev.jseek.fp8.ScaleFormat;

/**
 * The FP8 training recipe (report §3.3), one row per tensor the FP8 Linears touch: its number format, its
 * quantization tile, how its scales are stored, and whether backward reads it from the FP8 activation cache
 * ({@link ActCache}), recomputes it, or quantizes it on the fly. {@link ActLayout} lays the cache out from this table
 * ({@link ActLayout#cache}) and the modules take every format and scale format from it; a module takes its FP8 path
 * where the layout gave it a cache slot for its row (an FP8 layout; {@code TrainModel} runs such a model only in
 * {@link Precision#FP8}), and its GEMM precision elsewhere from {@link Precision}. docs/fp8.md walks through it.
 *
 * <pre>
 * tensor                 format  tile     scales  kept for backward
 * WEIGHT                 E4M3    128x128  FP32    no: quantized from the FP32 master weight for each GEMM
 * LINEAR_INPUT           E4M3    1x128    FP32    no: quantized for each GEMM from the float input (kept or recomputed)
 * OUTPUT_GRAD            E4M3    1x128    FP32    no: transient (Dgrad operand; 128x1 for Wgrad)
 * SWIGLU_GATE            E4M3    1x128    FP32    cached (the float g is transient)
 * SWIGLU_UP              E4M3    1x128    FP32    cached (the float u is transient)
 * SWIGLU_OUT             -       -        -       recomputed from the cached g and u (h = SiLU(g) u)
 * EXPERT_INPUT           E4M3    1x128    UE8M0   cached, quantized before the dispatch; no float copy exists
 * EXPERT_OUTPUT_GRAD     E4M3    1x128    UE8M0   no: transient (dy of the routed experts, before the combine)
 * ATTENTION_OUTPUT       E5M6    1x128    UE8M0   cached (o: the o_proj input and an attention-backward input)
 * O_PROJ_INPUT           E4M3    1x128    UE8M0   no: o quantized for o_proj's Fprop; its Wgrad reads the E5M6 cache
 * </pre>
 * Every Wgrad re-quantizes its two operands along the token dimension (128x1 tiles) in their rows' scale formats.
 * Accumulation is FP32 with promotion every 128 products ({@code dev.jseek.fp8.Fp8Gemm}). Outside this table
 * (embedding, lm_head, router, MTP eh_proj, norms, attention core) training stays FP32.
 */
public enum Fp8Recipe {
    WEIGHT(Format.E4M3, 128, 128, ScaleFormat.FP32, Storage.PER_GEMM),
    LINEAR_INPUT(Format.E4M3, 1, 128, ScaleFormat.FP32, Storage.PER_GEMM),
    OUTPUT_GRAD(Format.E4M3, 1, 128, ScaleFormat.FP32, Storage.PER_GEMM),
    SWIGLU_GATE(Format.E4M3, 1, 128, ScaleFormat.FP32, Storage.CACHED),
    SWIGLU_UP(Format.E4M3, 1, 128, ScaleFormat.FP32, Storage.CACHED),
    SWIGLU_OUT(Format.NONE, 0, 0, null, Storage.RECOMPUTED),
    EXPERT_INPUT(Format.E4M3, 1, 128, ScaleFormat.UE8M0, Storage.CACHED),
    EXPERT_OUTPUT_GRAD(Format.E4M3, 1, 128, ScaleFormat.UE8M0, Storage.PER_GEMM),
    ATTENTION_OUTPUT(Format.E5M6, 1, 128, ScaleFormat.UE8M0, Storage.CACHED),
    O_PROJ_INPUT(Format.E4M3, 1, 128, ScaleFormat.UE8M0, Storage.PER_GEMM);

    /** Number format of the codes (NONE: not quantized, e.g. recomputed in float). */
    public enum Format { E4M3, E5M6, NONE }

    /** What backward reads. */
    public enum Storage {
        /** Kept in the FP8 activation cache; the float copy, if any, is a transient scratch slot. */
        CACHED,
        /** Recomputed in backward from cached tensors. */
        RECOMPUTED,
        /** Quantized for the GEMM that reads it, from a float tensor; not kept in FP8. */
        PER_GEMM
    }

    private final Format format;
    private final int tileRows, tileCols;
    private final ScaleFormat scales;
    private final Storage storage;

    Fp8Recipe(Format format, int tileRows, int tileCols, ScaleFormat scales, Storage storage) {
        this.format = format;
        this.tileRows = tileRows;
        this.tileCols = tileCols;
        this.scales = scales;
        this.storage = storage;
    }

    public Format format() { return format; }
    public int tileRows() { return tileRows; }
    public int tileCols() { return tileCols; }
    /** How the tile scales are stored (null for {@link Format#NONE}). */
    public ScaleFormat scales() { return scales; }
    public Storage storage() { return storage; }
    /** Whether backward reads this tensor from the FP8 activation cache. */
    public boolean cached() { return storage == Storage.CACHED; }
}
