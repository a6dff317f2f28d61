package dev.jseek.gguf;

/**
 * The type tag of a GGUF metadata value ({@code enum gguf_type} of gguf.h), numbered as in the file: integers of
 * 8..64 bits, float32/64, bool (1 byte, 0 or 1), string (uint64 length + UTF-8 bytes, no terminator) and array
 * (uint32 element type, uint64 count, the elements).
 */
public enum GgufValueType {
    UINT8(0, 1), INT8(1, 1), UINT16(2, 2), INT16(3, 2), UINT32(4, 4), INT32(5, 4), FLOAT32(6, 4), BOOL(7, 1),
    STRING(8, 8), ARRAY(9, 12), UINT64(10, 8), INT64(11, 8), FLOAT64(12, 8);

    /** The number in the file. */
    public final int id;
    /** The fewest bytes one value of this type takes (a string's length field, an array's header). */
    public final int minBytes;

    GgufValueType(int id, int minBytes) {
        this.id = id;
        this.minBytes = minBytes;
    }

    /** The type numbered {@code id}, or null when unknown. */
    public static GgufValueType fromId(long id) {
        for (GgufValueType t : values()) if (t.id == id) return t;
        return null;
    }

    public boolean isInteger() {
        return switch (this) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> true;
            default -> false;
        };
    }

    public boolean isFloat() { return this == FLOAT32 || this == FLOAT64; }
}
