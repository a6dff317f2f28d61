package dev.jseek.kernels;

/**
 * Per-thread reusable float buffers for the kernels (packing panels, decoded weight chunks, edge tiles), so
 * that no kernel allocates per call once warm. A buffer set is taken with {@link #acquire} and given back with
 * {@link #release}; a nested acquire on the same thread (a kernel called from inside a kernel, or a GEMM's task
 * running on the thread that holds the GEMM's shared packing buffer) gets the next set of that thread's small
 * stack of sets (kept too, up to {@link #DEPTH} deep; deeper ones are fresh).
 */
final class Scratch {
    private static final int DEPTH = 4;
    private static final ThreadLocal<Scratch[]> LOCAL = ThreadLocal.withInitial(() -> new Scratch[DEPTH]);

    private final float[][] bufs = new float[5][];
    private Q8K q8k;
    private KQuantGroup kqGroup;
    private byte[] bytes = new byte[0];
    private boolean inUse;

    static Scratch acquire() {
        Scratch[] stack = LOCAL.get();
        for (int i = 0; i < DEPTH; i++) {
            Scratch s = stack[i];
            if (s == null) stack[i] = s = new Scratch();
            if (!s.inUse) {
                s.inUse = true;
                return s;
            }
        }
        Scratch s = new Scratch();
        s.inUse = true;
        return s;
    }

    void release() { inUse = false; }

    /** This set's buffer of quantized activations (the K-quant decode GEMV's). */
    Q8K q8k() {
        if (q8k == null) q8k = new Q8K();
        return q8k;
    }

    /** This set's buffers of the K-quant row-group kernels. */
    KQuantGroup kqGroup() {
        if (kqGroup == null) kqGroup = new KQuantGroup(KQuantDot.GROUP);
        return kqGroup;
    }

    /** This set's byte buffer with at least n bytes (copied weight rows); contents are unspecified. */
    byte[] bytes(int n) {
        if (bytes.length < n) bytes = new byte[Math.max(n, bytes.length + bytes.length / 2)];
        return bytes;
    }

    /** Buffer number {@code slot} (0..4) with at least n floats; contents are unspecified. */
    float[] get(int slot, int n) {
        float[] b = bufs[slot];
        if (b == null || b.length < n) {
            b = new float[Math.max(n, b == null ? 0 : b.length + b.length / 2)];
            bufs[slot] = b;
        }
        return b;
    }
}
