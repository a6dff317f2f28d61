package dev.jseek.train;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Offsets of the saved activations in one flat float arena (llm.c style). Modules allocate their buffers at
 * construction for the largest batch; the activation-gradient arena uses the same offsets, so the gradient of the
 * buffer at offset {@code o} of {@code acts} lives at offset {@code o} of {@code dacts}.
 */
public final class ActLayout {
    private final Map<String, int[]> buffers = new LinkedHashMap<>();
    private long size;

    /** Allocates {@code n} floats named {@code name} (for diagnostics); returns the offset. */
    public int alloc(String name, long n) {
        if (n < 0) throw new IllegalArgumentException("negative size for activation " + name);
        if (size + n > Integer.MAX_VALUE - 16)
            throw new IllegalArgumentException("activation arena exceeds 2^31 floats at " + name
                    + " (" + (size + n) + " elements); reduce batch size or sequence length");
        int off = (int) size;
        buffers.put(name, new int[] {off, (int) n});
        size += n;
        return off;
    }

    public int size() { return (int) size; }

    /** name -> {offset, length}, in allocation order. */
    public Map<String, int[]> buffers() { return buffers; }
}
