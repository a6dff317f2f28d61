package dev.jseek.kernels;

/**
 * Per-thread reusable float buffers for the kernels (packing panels, decoded weight chunks, edge tiles), so
 * that no kernel allocates per call once warm. A buffer set is taken with {@link #acquire} and given back with
 * {@link #release}; a nested acquire on the same thread (a kernel called from inside a kernel) gets a fresh set.
 */
final class Scratch {
    private static final ThreadLocal<Scratch> LOCAL = ThreadLocal.withInitial(Scratch::new);

    private final float[][] bufs = new float[4][];
    private boolean inUse;

    static Scratch acquire() {
        Scratch s = LOCAL.get();
        if (s.inUse) s = new Scratch();
        s.inUse = true;
        return s;
    }

    void release() { inUse = false; }

    /** Buffer number {@code slot} (0..3) with at least n floats; contents are unspecified. */
    float[] get(int slot, int n) {
        float[] b = bufs[slot];
        if (b == null || b.length < n) {
            b = new float[Math.max(n, b == null ? 0 : b.length + b.length / 2)];
            bufs[slot] = b;
        }
        return b;
    }
}
