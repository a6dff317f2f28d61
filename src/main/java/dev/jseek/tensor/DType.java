package dev.jseek.tensor;

/** Element types jseek reads, writes and computes with. Names are the safetensors dtype strings. */
public enum DType {
    F32(4), BF16(2), F16(2), F8_E4M3(1), F8_E5M2(1), F64(8), I64(8), I32(4), I8(1), U8(1);

    public final int bytes;

    DType(int bytes) { this.bytes = bytes; }

    /** The safetensors name of this dtype ("F32", "BF16", "F8_E4M3", ...). */
    public String safetensorsName() { return name(); }

    /** Parses a safetensors dtype string; returns null when unknown (callers report the file and tensor). */
    public static DType fromSafetensors(String s) {
        for (DType d : values()) if (d.name().equals(s)) return d;
        return null;
    }
}
