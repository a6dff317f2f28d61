package dev.jseek.gguf;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One GGUF metadata value with its exact type (the writer writes back the type it was given; llama.cpp checks the
 * type of every key it reads, e.g. counts must be UINT32 and hyperparameters FLOAT32).
 *
 * <p>Java representation of {@code value}: every integer type as a {@link Long} (a UINT64 above 2^63-1 keeps its bits;
 * {@link #asLong} refuses it), FLOAT32/FLOAT64 as a {@link Double} (a FLOAT32 widened exactly), BOOL as a
 * {@link Boolean}, STRING as a {@link String}, ARRAY as an unmodifiable {@code List<GgufValue>} whose elements all
 * have type {@code elementType} (null for non-arrays).
 */
public record GgufValue(GgufValueType type, Object value, GgufValueType elementType) {
    public GgufValue {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(value, "value");
        if (type == GgufValueType.ARRAY) {
            Objects.requireNonNull(elementType, "elementType");
            List<?> l = (List<?>) value;
            for (Object o : l)
                if (!(o instanceof GgufValue g) || g.type != elementType)
                    throw new IllegalArgumentException("array of " + elementType + " holds " + o);
            value = List.copyOf(l);
        } else if (elementType != null) {
            throw new IllegalArgumentException("elementType is only for arrays");
        }
        boolean ok = switch (type) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> value instanceof Long;
            case FLOAT32, FLOAT64 -> value instanceof Double;
            case BOOL -> value instanceof Boolean;
            case STRING -> value instanceof String;
            case ARRAY -> true;
        };
        if (!ok) throw new IllegalArgumentException(type + " value " + value + " (" + value.getClass().getSimpleName() + ")");
        if (type == GgufValueType.FLOAT32 && (double) (float) (double) (Double) value != (Double) value && !((Double) value).isNaN())
            throw new IllegalArgumentException("FLOAT32 value " + value + " is not a float");
        if (type.isInteger() && !inRange(type, (Long) value))
            throw new IllegalArgumentException(type + " value " + value + " is out of range");
    }

    private static boolean inRange(GgufValueType t, long v) {
        return switch (t) {
            case UINT8 -> v >= 0 && v <= 0xFF;
            case INT8 -> v >= Byte.MIN_VALUE && v <= Byte.MAX_VALUE;
            case UINT16 -> v >= 0 && v <= 0xFFFF;
            case INT16 -> v >= Short.MIN_VALUE && v <= Short.MAX_VALUE;
            case UINT32 -> v >= 0 && v <= 0xFFFFFFFFL;
            case INT32 -> v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE;
            default -> true; // UINT64 keeps all 64 bits, INT64 is a long
        };
    }

    public static GgufValue u32(long v) { return new GgufValue(GgufValueType.UINT32, v, null); }
    public static GgufValue i32(long v) { return new GgufValue(GgufValueType.INT32, v, null); }
    public static GgufValue u64(long v) { return new GgufValue(GgufValueType.UINT64, v, null); }
    public static GgufValue f32(float v) { return new GgufValue(GgufValueType.FLOAT32, (double) v, null); }
    public static GgufValue f64(double v) { return new GgufValue(GgufValueType.FLOAT64, v, null); }
    public static GgufValue bool(boolean v) { return new GgufValue(GgufValueType.BOOL, v, null); }
    public static GgufValue string(String v) { return new GgufValue(GgufValueType.STRING, v, null); }

    /** An array of {@code elementType} values. */
    public static GgufValue array(GgufValueType elementType, List<GgufValue> elements) {
        return new GgufValue(GgufValueType.ARRAY, elements, elementType);
    }

    public static GgufValue stringArray(List<String> v) {
        List<GgufValue> l = new ArrayList<>(v.size());
        for (String s : v) l.add(string(s));
        return array(GgufValueType.STRING, l);
    }

    public static GgufValue i32Array(int[] v) {
        List<GgufValue> l = new ArrayList<>(v.length);
        for (int x : v) l.add(i32(x));
        return array(GgufValueType.INT32, l);
    }

    /** The integer value; {@link IllegalStateException} for other types or a UINT64 above Long.MAX_VALUE. */
    public long asLong() {
        if (!type.isInteger()) throw new IllegalStateException("a " + type + ", not an integer");
        long v = (Long) value;
        if (type == GgufValueType.UINT64 && v < 0) throw new IllegalStateException("UINT64 " + Long.toUnsignedString(v) + " exceeds 2^63-1");
        return v;
    }

    /** The float value (FLOAT32 widened exactly); {@link IllegalStateException} for other types. */
    public double asDouble() {
        if (!type.isFloat()) throw new IllegalStateException("a " + type + ", not a float");
        return (Double) value;
    }

    public boolean asBool() {
        if (type != GgufValueType.BOOL) throw new IllegalStateException("a " + type + ", not a bool");
        return (Boolean) value;
    }

    public String asString() {
        if (type != GgufValueType.STRING) throw new IllegalStateException("a " + type + ", not a string");
        return (String) value;
    }

    @SuppressWarnings("unchecked")
    public List<GgufValue> asList() {
        if (type != GgufValueType.ARRAY) throw new IllegalStateException("a " + type + ", not an array");
        return (List<GgufValue>) value;
    }

    /** Short text for listings: scalars as themselves, arrays as {@code [TYPE x n: first, ...]}. */
    public String display(int maxElements) {
        return switch (type) {
            case STRING -> '"' + ((String) value).replace("\n", "\\n") + '"';
            case UINT64 -> Long.toUnsignedString((Long) value);
            case FLOAT32 -> Float.toString((float) (double) (Double) value);
            case ARRAY -> {
                List<GgufValue> l = asList();
                StringBuilder sb = new StringBuilder("[" + elementType + " x " + l.size());
                for (int i = 0; i < Math.min(maxElements, l.size()); i++) sb.append(i == 0 ? ": " : ", ").append(l.get(i).display(maxElements));
                if (l.size() > maxElements) sb.append(", ...");
                yield sb.append(']').toString();
            }
            default -> value.toString();
        };
    }
}
