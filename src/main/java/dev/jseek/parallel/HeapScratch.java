package dev.jseek.parallel;

import java.lang.foreign.MemorySegment;

/**
 * The {@link Communicator#scratch} buffers of a communicator whose ranks share the heap (thread ranks and their
 * sub-groups): per slot, one float-backed heap segment, grown when a larger one is asked for and reused otherwise.
 */
final class HeapScratch {
    private final MemorySegment[] slots = new MemorySegment[8];

    /** Slot {@code slot}'s buffer as a segment of {@code bytes} (its contents are whatever the slot held before). */
    MemorySegment get(int slot, long bytes) {
        if (slot < 0 || slot >= slots.length) throw new IllegalArgumentException("scratch slot " + slot + " outside 0.." + (slots.length - 1));
        MemorySegment s = slots[slot];
        if (s == null || s.byteSize() < bytes) {
            long floats = (Math.max(bytes, 64) + 3) / 4;
            slots[slot] = s = MemorySegment.ofArray(new float[Math.toIntExact(floats)]);
        }
        return s.asSlice(0, bytes);
    }
}
