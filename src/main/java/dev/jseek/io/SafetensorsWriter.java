package dev.jseek.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jseek.tensor.DType;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Builds safetensors files (docs/architecture.md §2.2): tensors are added by name with dtype, shape and little-endian bytes (or
 * floats converted to F32, F64, BF16 or F16; FP8 weights with block scales come from {@code dev.jseek.fp8.Fp8Weights}),
 * plus optional {@code __metadata__}. Output: names sorted, data contiguous in name order,
 * header padded with spaces so the data starts at a multiple of 8, written to a temporary file, forced and renamed
 * ({@link AtomicFiles}). {@link #writeCheckpoint} splits into shards with a {@code model.safetensors.index.json}
 * when a maximum shard size is given.
 */
public final class SafetensorsWriter {
    private record Entry(DType dtype, long[] shape, MemorySegment data) {}

    private final Map<String, Entry> tensors = new TreeMap<>();
    private final Map<String, String> metadata = new TreeMap<>();

    /** Adds a {@code __metadata__} entry. */
    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /** Adds a tensor from raw little-endian bytes (kept by reference until written). */
    public SafetensorsWriter add(String name, DType dtype, long[] shape, byte[] data) {
        return add(name, dtype, shape, MemorySegment.ofArray(data));
    }

    /** Adds a tensor whose little-endian bytes are {@code data} (e.g. a slice of a mapped file; kept by reference). */
    public SafetensorsWriter add(String name, DType dtype, long[] shape, MemorySegment data) {
        if (name == null || name.isEmpty() || name.equals("__metadata__")) throw new IllegalArgumentException("bad tensor name '" + name + "'");
        if (tensors.containsKey(name)) throw new IllegalArgumentException("duplicate tensor '" + name + "'");
        long n = count(name, shape);
        if (data.byteSize() != n * dtype.bytes)
            throw new IllegalArgumentException("tensor '" + name + "' " + dtype + " " + Arrays.toString(shape) + " needs " + n * dtype.bytes
                    + " bytes, got " + data.byteSize());
        tensors.put(name, new Entry(dtype, shape.clone(), data));
        return this;
    }

    /**
     * Adds {@code values} (row-major, {@code shape}) converted to {@code dtype}: F32, F64, BF16 and F16 round to
     * nearest even. (FP8 weights need block scales, which the fp8 package computes: {@code dev.jseek.fp8.Fp8Weights}.)
     */
    public SafetensorsWriter addFloats(String name, DType dtype, float[] values, long... shape) {
        long n = count(name, shape);
        if (n != values.length)
            throw new IllegalArgumentException("tensor '" + name + "' shape " + Arrays.toString(shape) + " has " + n + " elements, got " + values.length);
        switch (dtype) {
            case F32 -> {
                ByteBuffer b = le(4L * n);
                for (float v : values) b.putFloat(v);
                add(name, dtype, shape, b.array());
            }
            case F64 -> {
                ByteBuffer b = le(8L * n);
                for (float v : values) b.putDouble(v);
                add(name, dtype, shape, b.array());
            }
            case BF16 -> {
                ByteBuffer b = le(2L * n);
                for (float v : values) b.putShort(toBf16(v));
                add(name, dtype, shape, b.array());
            }
            case F16 -> {
                ByteBuffer b = le(2L * n);
                for (float v : values) b.putShort(Float.floatToFloat16(v));
                add(name, dtype, shape, b.array());
            }
            default -> throw new IllegalArgumentException("cannot convert floats to " + dtype + " for tensor '" + name + "'");
        }
        return this;
    }

    /** Float -> BF16 bits, round to nearest even (NaN stays a quiet NaN). */
    public static short toBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) return (short) ((bits >>> 16) | 0x40);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    private static ByteBuffer le(long bytes) {
        if (bytes > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("tensor of " + bytes + " bytes is too large to convert in memory");
        return ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static long count(String name, long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("tensor '" + name + "' has a negative dim in " + Arrays.toString(shape));
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public boolean has(String name) { return tensors.containsKey(name); }

    /** Sum of all tensor byte sizes. */
    public long totalBytes() {
        long s = 0;
        for (Entry e : tensors.values()) s += e.data.byteSize();
        return s;
    }

    /** Writes every tensor to {@code file}. */
    public void write(Path file) { writeFile(file, new ArrayList<>(tensors.keySet())); }

    private void writeFile(Path file, List<String> names) {
        ObjectNode root = SafetensorsFile.JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode m = root.putObject("__metadata__");
            metadata.forEach(m::put);
        }
        long off = 0;
        for (String n : names) {
            Entry e = tensors.get(n);
            ObjectNode t = root.putObject(n);
            t.put("dtype", e.dtype.safetensorsName());
            var sh = t.putArray("shape");
            for (long d : e.shape) sh.add(d);
            long end = off + e.data.byteSize();
            t.putArray("data_offsets").add(off).add(end);
            off = end;
        }
        byte[] json;
        try {
            json = SafetensorsFile.JSON.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        int pad = (8 - json.length % 8) % 8;
        ByteBuffer head = ByteBuffer.allocate(8 + json.length + pad).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(json.length + pad).put(json);
        for (int i = 0; i < pad; i++) head.put((byte) ' ');
        head.flip();
        AtomicFiles.write(file, ch -> {
            AtomicFiles.writeFully(ch, head);
            for (String n : names) writeSegment(ch, tensors.get(n).data);
        });
    }

    private static void writeSegment(FileChannel ch, MemorySegment s) throws IOException {
        final long chunk = 1L << 26;
        for (long p = 0; p < s.byteSize(); p += chunk) {
            long len = Math.min(chunk, s.byteSize() - p);
            MemorySegment part = s.asSlice(p, len);
            ByteBuffer b;
            if (part.isNative() || part.heapBase().orElse(null) instanceof byte[]) b = part.asByteBuffer();
            else b = ByteBuffer.wrap(part.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            AtomicFiles.writeFully(ch, b);
        }
    }

    /**
     * Writes a model directory: {@code model.safetensors} when {@code maxShardBytes <= 0} or everything fits in one
     * shard, else {@code model-0000i-of-0000n.safetensors} shards of at most {@code maxShardBytes} tensor bytes each
     * (a larger tensor gets a shard of its own; an FP8 weight and its scale stay together) and
     * {@code model.safetensors.index.json} ({@code metadata.total_size}, {@code weight_map}), written last. A stale
     * index or single file of the other layout is removed. Returns the files written.
     */
    public List<Path> writeCheckpoint(Path dir, long maxShardBytes) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new FormatException(dir + ": cannot create directory: " + e, e);
        }
        List<String> names = new ArrayList<>(tensors.keySet());
        if (maxShardBytes <= 0 || totalBytes() <= maxShardBytes) {
            Path f = dir.resolve(Checkpoint.SINGLE_FILE);
            write(f);
            deleteQuietly(dir.resolve(Checkpoint.INDEX_FILE));
            return List.of(f);
        }
        List<List<String>> shards = new ArrayList<>();
        List<String> cur = new ArrayList<>();
        long curBytes = 0;
        for (int i = 0; i < names.size(); i++) {
            List<String> group = new ArrayList<>(List.of(names.get(i)));
            long g = tensors.get(names.get(i)).data.byteSize();
            String sn = Checkpoint.scaleName(names.get(i));
            if (i + 1 < names.size() && names.get(i + 1).equals(sn)) {
                group.add(sn);
                g += tensors.get(sn).data.byteSize();
                i++;
            }
            if (!cur.isEmpty() && curBytes + g > maxShardBytes) {
                shards.add(cur);
                cur = new ArrayList<>();
                curBytes = 0;
            }
            cur.addAll(group);
            curBytes += g;
        }
        if (!cur.isEmpty()) shards.add(cur);
        List<Path> written = new ArrayList<>();
        ObjectNode index = SafetensorsFile.JSON.createObjectNode();
        index.putObject("metadata").put("total_size", totalBytes());
        ObjectNode wm = index.putObject("weight_map");
        Map<String, String> map = new TreeMap<>();
        for (int s = 0; s < shards.size(); s++) {
            String fn = String.format("model-%05d-of-%05d.safetensors", s + 1, shards.size());
            Path f = dir.resolve(fn);
            writeFile(f, shards.get(s));
            written.add(f);
            for (String n : shards.get(s)) map.put(n, fn);
        }
        map.forEach(wm::put);
        Path idx = dir.resolve(Checkpoint.INDEX_FILE);
        try {
            AtomicFiles.write(idx, SafetensorsFile.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(index));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        deleteQuietly(dir.resolve(Checkpoint.SINGLE_FILE));
        written.add(idx);
        return written;
    }

    private static void deleteQuietly(Path p) {
        try { Files.deleteIfExists(p); } catch (IOException ignored) { /* stale file; the reader prefers the index anyway */ }
    }
}
