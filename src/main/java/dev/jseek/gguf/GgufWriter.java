package dev.jseek.gguf;

import dev.jseek.io.AtomicFiles;
import dev.jseek.io.FormatException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a GGUF v3 file (layout in {@link GgufFile}): metadata in insertion order, tensor infos in insertion order
 * with offsets assigned consecutively, each rounded up to the alignment (32 unless {@code general.alignment} says
 * otherwise), zero padding after the tensor infos and after every tensor's data. Tensor bytes are produced while
 * writing by a {@link TensorData} callback, so a 671B-sized export never holds more than one tensor's rows in
 * memory; the writer checks each callback produced exactly the tensor's byte size.
 *
 * <p>The file is written atomically ({@link AtomicFiles}: temporary file, flush, rename); a failure leaves no
 * partial file behind.
 */
public final class GgufWriter {
    /** Produces exactly the tensor's bytes. */
    @FunctionalInterface
    public interface TensorData { void write(TensorSink out) throws IOException; }

    private record Pending(String name, GgmlType type, long[] dims, long bytes, TensorData data) {}

    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<Pending> tensors = new ArrayList<>();
    private final Map<String, Boolean> names = new LinkedHashMap<>();

    /** Sets a metadata value (replacing an earlier one of the same key, keeping its position). */
    public GgufWriter put(String key, GgufValue v) {
        if (key.getBytes(StandardCharsets.UTF_8).length > GgufFile.MAX_NAME_BYTES) throw new IllegalArgumentException("key too long: " + key);
        if (key.equals(GgufFile.ALIGNMENT_KEY)) {
            if (v.type() != GgufValueType.UINT32 || v.asLong() == 0 || Long.bitCount(v.asLong()) != 1)
                throw new IllegalArgumentException(GgufFile.ALIGNMENT_KEY + " must be a UINT32 power of two, got " + v);
        }
        metadata.put(key, v);
        return this;
    }

    public Map<String, GgufValue> metadata() { return metadata; }

    private long alignment() {
        GgufValue a = metadata.get(GgufFile.ALIGNMENT_KEY);
        return a == null ? GgufFile.DEFAULT_ALIGNMENT : a.asLong();
    }

    /**
     * Adds a tensor of row-major {@code shape} (outermost first; stored as ggml dims, innermost first) whose bytes
     * {@code data} writes when the file is written.
     */
    public GgufWriter addTensor(String name, GgmlType type, long[] shape, TensorData data) {
        if (shape.length < 1 || shape.length > GgufFile.MAX_DIMS)
            throw new IllegalArgumentException(name + ": rank " + shape.length + " is outside 1.." + GgufFile.MAX_DIMS);
        if (names.put(name, Boolean.TRUE) != null) throw new IllegalArgumentException("tensor " + name + " added twice");
        long[] dims = new long[shape.length];
        long n = 1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 0) throw new IllegalArgumentException(name + ": negative dim in " + java.util.Arrays.toString(shape));
            dims[i] = shape[shape.length - 1 - i];
            n = Math.multiplyExact(n, shape[i]);
        }
        if (dims[0] % type.blockSize != 0)
            throw new IllegalArgumentException(name + ": row length " + dims[0] + " is not a multiple of the " + type + " block size " + type.blockSize);
        tensors.add(new Pending(name, type, dims, type.byteSize(n), data));
        return this;
    }

    /** Adds a tensor holding {@code values} (row-major, {@code shape}) encoded as {@code type}. */
    public GgufWriter addTensor(String name, GgmlType type, long[] shape, float[] values) {
        long n = 1;
        for (long d : shape) n *= d;
        if (n != values.length) throw new IllegalArgumentException(name + ": " + values.length + " values for shape " + java.util.Arrays.toString(shape));
        return addTensor(name, type, shape, out -> GgmlCodec.encode(type, values, 0, values.length, out));
    }

    /** Writes the file atomically; errors are {@link FormatException}s naming the file (and the tensor). */
    public void write(Path target) {
        long align = alignment();
        AtomicFiles.write(target, ch -> writeTo(ch, align, target));
    }

    private void writeTo(FileChannel ch, long align, Path target) throws IOException {
        TensorSink out = new TensorSink(ch);
        out.putInt(GgufFile.MAGIC);
        out.putInt(3);
        out.putLong(tensors.size());
        out.putLong(metadata.size());
        for (Map.Entry<String, GgufValue> e : metadata.entrySet()) {
            putString(out, e.getKey());
            out.putInt(e.getValue().type().id);
            putValue(out, e.getValue());
        }
        long offset = 0;
        long[] offsets = new long[tensors.size()];
        for (int i = 0; i < tensors.size(); i++) {
            Pending t = tensors.get(i);
            putString(out, t.name);
            out.putInt(t.dims.length);
            for (long d : t.dims) out.putLong(d);
            out.putInt(t.type.id);
            offsets[i] = offset;
            out.putLong(offset);
            offset = GgufFile.alignUp(offset + t.bytes, align);
        }
        out.zeros(GgufFile.alignUp(out.written(), align) - out.written());
        long dataStart = out.written();
        for (int i = 0; i < tensors.size(); i++) {
            Pending t = tensors.get(i);
            long before = out.written();
            try {
                t.data.write(out);
            } catch (IllegalArgumentException e) {
                throw new FormatException(target + ": tensor '" + t.name + "': " + e.getMessage(), e);
            }
            long got = out.written() - before;
            if (got != t.bytes)
                throw new IllegalStateException(target + ": tensor '" + t.name + "' wrote " + got + " bytes, its " + t.type + " "
                        + java.util.Arrays.toString(t.dims) + " needs " + t.bytes);
            out.zeros(GgufFile.alignUp(out.written() - dataStart, align) - (out.written() - dataStart));
            if (out.written() - dataStart != (i + 1 < tensors.size() ? offsets[i + 1] : GgufFile.alignUp(offsets[i] + t.bytes, align)))
                throw new IllegalStateException("offset bookkeeping");
        }
        out.flush();
    }

    private static void putString(TensorSink out, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.putLong(b.length);
        out.put(b, 0, b.length);
    }

    private static void putValue(TensorSink out, GgufValue v) throws IOException {
        switch (v.type()) {
            case UINT8, INT8 -> out.putByte((byte) (long) (Long) v.value());
            case UINT16, INT16 -> out.putShort((short) (long) (Long) v.value());
            case UINT32, INT32 -> out.putInt((int) (long) (Long) v.value());
            case UINT64, INT64 -> out.putLong((Long) v.value());
            case FLOAT32 -> out.putFloat((float) (double) (Double) v.value());
            case FLOAT64 -> { long bits = Double.doubleToRawLongBits((Double) v.value()); out.putLong(bits); }
            case BOOL -> out.putByte((byte) ((Boolean) v.value() ? 1 : 0));
            case STRING -> putString(out, (String) v.value());
            case ARRAY -> {
                out.putInt(v.elementType().id);
                List<GgufValue> l = v.asList();
                out.putLong(l.size());
                for (GgufValue e : l) putValue(out, e);
            }
        }
    }
}
