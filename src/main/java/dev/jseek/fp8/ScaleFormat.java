package dev.jseek.fp8;

/**
 * How a tile's scale is stored (report §3.3; docs/architecture.md §2.3). {@link #FP32}: scale = amax / 448 in float. {@link #UE8M0}: the same
 * scale rounded up to a power of two, 2^ceil(log2(amax / 448)) (an 8-bit exponent-only format on the GPU; we keep it
 * in a float, where it is exact). Power-of-two scales make the scaling exact and never saturate, at the cost of up
 * to one bit of FP8 range.
 */
public enum ScaleFormat {
    FP32, UE8M0;

    /** The scale of a tile with the given max |x| (before the amax floor), in this format. */
    public float scale(float amax) {
        float s = Math.max(amax, TileQuantizer.AMAX_FLOOR) / E4m3.MAX;
        if (this == FP32) return s;
        int e = Math.getExponent(s);                     // s >= 1e-4/448 is a normal float
        float p = Math.scalb(1f, e);
        return p == s ? s : Math.scalb(1f, e + 1);
    }
}
