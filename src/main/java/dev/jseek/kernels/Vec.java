package dev.jseek.kernels;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector species shared by the kernels and the in-register decoders of the weight dtypes (docs/architecture.md §2.3): each
 * {@code load*} returns {@link #LANES} consecutive elements of a weight as exact floats (no scales applied).
 *
 * <p>Width: {@code jseek.vectorBits} (256 or 512; default the platform's preferred width). 512-bit is about 2x
 * faster than 256-bit in the F32 micro-kernel on the AVX-512 development machine.
 *
 * <p>Decoders avoid subnormal floats entirely (subnormal inputs cost ~50x on x86 through microcode assists):
 * FP8/F16 normals are rebuilt by shifting the exponent+mantissa bits into place and adding the exponent bias
 * difference; subnormals come from an exact int-to-float conversion of the mantissa times a power of two;
 * E4M3 S.1111.111 and E5M2/F16 exponent-all-ones codes map to NaN/inf exactly as the scalar decoders.
 *
 * <p>Each loader exists for native segments (mmapped weights) and for Java arrays: heap segments are read through
 * their backing array, because mixing heap and native segments in {@code fromMemorySegment} makes its internal
 * call sites megamorphic and costs 3-5x.
 */
public final class Vec {
    private Vec() {}

    public static final VectorSpecies<Float> F = chooseSpecies();
    public static final int LANES = F.length();
    public static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    public static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(LANES * 16));
    public static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, LANES * 8)));
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /**
     * {@code step} as a value C2 cannot see as a constant, for the stride of the one-token loops that stream weights
     * from memory ({@link HalfGemv}'s BF16/F32 rows read in sequence, {@link QuantGemv}'s Q8_0 rows): C2 unrolls only
     * counted loops, and a loop counts only when its stride is a compile-time constant. Unrolled, these loops issued
     * their loads out of address order. A rolled loop runs the same operations in the same order, so the same bits;
     * in the 1.5B bench model's decode the rolled loops were 1.2-1.3x faster (docs/quantization.md, "Rolled streaming
     * loops"). With the system property {@code jseek.rolledLoops=false} it returns {@code step} itself, a constant
     * once inlined, and C2 unrolls these loops as any other (to compare, in separate processes).
     */
    static int rolled(int step) { return ROLLED ? step + ROLL : step; }

    private static final boolean ROLLED = Boolean.parseBoolean(System.getProperty("jseek.rolledLoops", "true"));

    /** Always 0; not final, so that {@link #rolled} is opaque to the JIT. Never written. */
    private static int ROLL = 0;

    /**
     * The sum of v's lanes in index order, ((0 + v0) + v1) + ... + v(L-1), in float: the one lane reduction of
     * inference and training. Lane extraction and scalar adds are exact IEEE operations that every JIT tier computes
     * the same way; {@code reduceLanes(ADD)} may add in a different order once C2 compiles it than in the interpreter
     * and C1 (measured: the same Gemv call changed its last bits when C2 took over), so a kernel using it would give
     * different bits for the same input depending on JIT state.
     */
    public static float sum(FloatVector v) {
        float s = 0f;
        for (int i = 0; i < LANES; i++) s += v.lane(i);
        return s;
    }

    private static VectorSpecies<Float> chooseSpecies() {
        String p = System.getProperty("jseek.vectorBits");
        if (p == null || p.isBlank()) {
            VectorSpecies<Float> s = FloatVector.SPECIES_PREFERRED;
            // need at least 8 lanes for the byte species (64-bit minimum shape)
            return s.length() >= 8 ? s : FloatVector.SPECIES_256;
        }
        return switch (p.trim()) {
            case "256" -> FloatVector.SPECIES_256;
            case "512" -> FloatVector.SPECIES_512;
            default -> throw new IllegalArgumentException("system property jseek.vectorBits: expected 256 or 512, got '" + p + "'");
        };
    }

    /** LANES floats from a little-endian F32 segment starting at element index {@code idx}. */
    static FloatVector loadF32(MemorySegment seg, long idx) {
        return FloatVector.fromMemorySegment(F, seg, idx << 2, LE);
    }

    /** LANES BF16 values (element index idx) widened exactly to float. */
    static FloatVector loadBf16(MemorySegment seg, long idx) {
        return bf16(ShortVector.fromMemorySegment(S, seg, idx << 1, LE));
    }

    static FloatVector loadBf16(short[] a, int idx) {
        return bf16(ShortVector.fromArray(S, a, idx));
    }

    private static FloatVector bf16(ShortVector s) {
        IntVector i = (IntVector) s.convertShape(VectorOperators.S2I, I, 0);
        return i.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** LANES IEEE binary16 values widened exactly to float. */
    static FloatVector loadF16(MemorySegment seg, long idx) {
        return f16(ShortVector.fromMemorySegment(S, seg, idx << 1, LE));
    }

    static FloatVector loadF16(short[] a, int idx) {
        return f16(ShortVector.fromArray(S, a, idx));
    }

    private static FloatVector f16(ShortVector s) { return halfBits((IntVector) s.convertShape(VectorOperators.S2I, I, 0)); }

    /** Decodes IEEE binary16 bit patterns held in the low 16 bits of int lanes (sign-extended or not). */
    private static FloatVector halfBits(IntVector h) {
        IntVector sign = h.lanewise(VectorOperators.AND, 0x8000).lanewise(VectorOperators.LSHL, 16);
        IntVector mag = h.lanewise(VectorOperators.AND, 0x7FFF);
        // normal: exponent rebias 15 -> 127 (+112 << 23)
        IntVector normal = mag.lanewise(VectorOperators.LSHL, 13).add(112 << 23);
        VectorMask<Integer> special = mag.compare(VectorOperators.GE, 0x7C00);
        normal = normal.blend(mag.lanewise(VectorOperators.LSHL, 13).lanewise(VectorOperators.OR, 0x7F800000), special);
        FloatVector f = normal.reinterpretAsFloats();
        VectorMask<Integer> sub = mag.compare(VectorOperators.LT, 0x0400);
        FloatVector subV = ((FloatVector) mag.convert(VectorOperators.I2F, 0)).mul(0x1p-24f);
        f = f.blend(subV, sub.cast(F));
        return f.reinterpretAsInts().lanewise(VectorOperators.OR, sign).reinterpretAsFloats();
    }

    /** LANES FP8 E4M3 codes decoded exactly (NaN for S.1111.111). */
    static FloatVector loadE4m3(MemorySegment seg, long idx) {
        return e4m3((IntVector) ByteVector.fromMemorySegment(B, seg, idx, LE).convertShape(VectorOperators.B2I, I, 0));
    }

    static FloatVector loadE4m3(byte[] a, int idx) {
        return e4m3((IntVector) ByteVector.fromArray(B, a, idx).convertShape(VectorOperators.B2I, I, 0));
    }

    /** Decodes E4M3 codes held in int lanes (sign-extended or not; only the low 8 bits are used). */
    static FloatVector e4m3(IntVector v) {
        IntVector sign = v.lanewise(VectorOperators.AND, 0x80).lanewise(VectorOperators.LSHL, 24);
        IntVector mag = v.lanewise(VectorOperators.AND, 0x7F);
        // normal: exponent field e (bias 7) -> e + 120 (bias 127); mantissa 3 bits -> top of the 23
        FloatVector f = mag.lanewise(VectorOperators.LSHL, 20).add(120 << 23).reinterpretAsFloats();
        VectorMask<Integer> sub = mag.compare(VectorOperators.LT, 8);
        FloatVector subV = ((FloatVector) mag.convert(VectorOperators.I2F, 0)).mul(0x1p-9f);
        f = f.blend(subV, sub.cast(F));
        VectorMask<Integer> nan = mag.compare(VectorOperators.EQ, 0x7F);
        f = f.blend(FloatVector.broadcast(F, Float.NaN), nan.cast(F));
        return f.reinterpretAsInts().lanewise(VectorOperators.OR, sign).reinterpretAsFloats();
    }

    /** LANES FP8 E5M2 codes decoded exactly (±inf, NaN as IEEE). */
    static FloatVector loadE5m2(MemorySegment seg, long idx) {
        return e5m2((IntVector) ByteVector.fromMemorySegment(B, seg, idx, LE).convertShape(VectorOperators.B2I, I, 0));
    }

    static FloatVector loadE5m2(byte[] a, int idx) {
        return e5m2((IntVector) ByteVector.fromArray(B, a, idx).convertShape(VectorOperators.B2I, I, 0));
    }

    /** E5M2 is the top byte of binary16 (same sign, exponent and bias; 2 of its 10 mantissa bits), so it decodes as one. */
    private static FloatVector e5m2(IntVector v) { return halfBits(v.lanewise(VectorOperators.LSHL, 8)); }
}
