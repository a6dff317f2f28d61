package dev.jseek.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.jseek.tensor.DType;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * One safetensors file, memory-mapped read-only through FFM (docs/architecture.md §2.2). Layout: 8-byte little-endian header
 * length N, N bytes of UTF-8 JSON {@code {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets":
 * [begin, end]}}}, then the data buffer; offsets are relative to the start of the data buffer.
 *
 * <p>Opening validates everything a corrupt or hostile file can get wrong before any tensor is touched: the
 * header length against the file size and a {@link #MAX_HEADER_BYTES} cap (no huge allocation from a bad length),
 * JSON syntax and duplicate keys, unknown dtypes, negative or non-integer dims, shape/byte-count mismatches,
 * offsets out of the data buffer, and overlapping tensors. Every error is a {@link FormatException} naming the file,
 * the tensor or field and the value. Tensors are zero-copy {@link MemorySegment} slices of the mapping (no
 * alignment guarantee: use unaligned layouts), valid until {@link #close()}.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** Largest JSON header accepted (the 671B shards have headers under 1 MB). */
    public static final long MAX_HEADER_BYTES = 100L << 20;

    static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private final MappedFile file;
    private final long dataStart;
    private final Map<String, String> metadata;
    private final Map<String, TensorInfo> tensors; // sorted by name

    private SafetensorsFile(MappedFile file, long dataStart, Map<String, String> metadata, Map<String, TensorInfo> tensors) {
        this.file = file;
        this.dataStart = dataStart;
        this.metadata = metadata;
        this.tensors = tensors;
    }

    /**
     * Opens and validates {@code file}, mapped unless {@code jseek.mmap=false} ({@link FileMemory}); throws
     * {@link FormatException} for malformed content, I/O problems included.
     */
    public static SafetensorsFile open(Path file) { return open(file, FileMemory.mmap()); }

    /** As {@link #open(Path)}: mapped when {@code map}, else read into memory. */
    public static SafetensorsFile open(Path file, boolean map) {
        return MappedFile.open(file, map, (ch, bytes) -> read(file, ch, bytes));
    }

    /** Validates the header (read through the channel), then holds the file. */
    private static SafetensorsFile read(Path file, FileChannel ch, MappedFile.Bytes bytes) throws IOException {
        long size = ch.size();
        if (size < 8)
            throw new FormatException(file + ": not a safetensors file: " + size + " bytes, fewer than the 8-byte header length");
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, lenBuf, 0, file);
        long n = lenBuf.getLong(0);
        if (n < 2 || n > size - 8)
            throw new FormatException(file + ": header length " + Long.toUnsignedString(n) + " does not fit the file size " + size
                    + " (need 2 <= length <= " + (size - 8) + ")");
        if (n > MAX_HEADER_BYTES)
            throw new FormatException(file + ": header length " + n + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes");
        ByteBuffer hb = ByteBuffer.allocate((int) n);
        readFully(ch, hb, 8, file);
        long dataStart = 8 + n, dataSize = size - dataStart;
        JsonNode root;
        try {
            root = JSON.readTree(hb.array());
        } catch (JsonProcessingException e) {
            throw new FormatException(file + ": header is not valid JSON: " + e.getOriginalMessage()
                    + (e.getLocation() != null ? " at byte " + e.getLocation().getByteOffset() : ""), e);
        }
        if (root == null || !root.isObject())
            throw new FormatException(file + ": header must be a JSON object, got " + (root == null ? "nothing" : root.getNodeType()));
        Map<String, String> metadata = new LinkedHashMap<>();
        Map<String, TensorInfo> tensors = new TreeMap<>();
        Map<String, long[]> offsets = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            JsonNode v = e.getValue();
            if (name.equals("__metadata__")) {
                if (!v.isObject()) throw new FormatException(file + ": __metadata__ must be an object of strings, got " + v.getNodeType());
                for (Map.Entry<String, JsonNode> m : v.properties()) {
                    if (!m.getValue().isTextual())
                        throw new FormatException(file + ": __metadata__ field '" + m.getKey() + "' must be a string, got " + m.getValue());
                    metadata.put(m.getKey(), m.getValue().asText());
                }
                continue;
            }
            long[] off = new long[2];
            TensorInfo info = parseTensor(file, name, v, dataStart, dataSize, off);
            tensors.put(name, info);
            offsets.put(name, off);
        }
        checkCoverage(file, offsets, dataSize);
        return new SafetensorsFile(bytes.hold(size), dataStart, Collections.unmodifiableMap(metadata), Collections.unmodifiableMap(tensors));
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long pos, Path file) throws IOException {
        while (b.hasRemaining()) {
            int r = ch.read(b, pos + b.position());
            if (r < 0) throw new FormatException(file + ": unexpected end of file at byte " + (pos + b.position()));
        }
    }

    private static TensorInfo parseTensor(Path file, String name, JsonNode v, long dataStart, long dataSize, long[] off) {
        String where = file + ": tensor '" + name + "'";
        if (!v.isObject()) throw new FormatException(where + ": entry must be an object, got " + v);
        JsonNode dt = v.get("dtype");
        if (dt == null || !dt.isTextual()) throw new FormatException(where + ": missing or non-string 'dtype': " + dt);
        DType dtype = DType.fromSafetensors(dt.asText());
        if (dtype == null) throw new FormatException(where + ": unknown dtype '" + dt.asText() + "'");
        JsonNode sh = v.get("shape");
        if (sh == null || !sh.isArray()) throw new FormatException(where + ": missing or non-array 'shape': " + sh);
        long[] shape = new long[sh.size()];
        long count = 1;
        boolean overflow = false;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong())
                throw new FormatException(where + ": shape " + sh + " has a non-integer dim " + d);
            shape[i] = d.asLong();
            if (shape[i] < 0) throw new FormatException(where + ": shape " + sh + " has a negative dim " + shape[i]);
            try { count = Math.multiplyExact(count, shape[i]); } catch (ArithmeticException ex) { overflow = true; }
        }
        JsonNode os = v.get("data_offsets");
        if (os == null || !os.isArray() || os.size() != 2)
            throw new FormatException(where + ": 'data_offsets' must be an array [begin, end], got " + os);
        for (int i = 0; i < 2; i++) {
            JsonNode d = os.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0)
                throw new FormatException(where + ": data_offsets " + os + " must be two non-negative integers");
            off[i] = d.asLong();
        }
        if (off[1] < off[0]) throw new FormatException(where + ": data_offsets " + os + " end before begin");
        if (off[1] > dataSize)
            throw new FormatException(where + ": data_offsets " + os + " out of range: the data buffer has " + dataSize + " bytes");
        long need;
        try {
            if (overflow) throw new ArithmeticException();
            need = Math.multiplyExact(count, (long) dtype.bytes);
        } catch (ArithmeticException ex) {
            throw new FormatException(where + ": shape " + sh + " of " + dtype + " is too large (byte count overflows)");
        }
        if (need != off[1] - off[0])
            throw new FormatException(where + ": shape " + sh + " of " + dtype + " needs " + need + " bytes but data_offsets "
                    + os + " span " + (off[1] - off[0]));
        return new TensorInfo(name, dtype, shape, file, dataStart + off[0], need);
    }

    /**
     * The tensors cover the data region exactly: sorted by offset, each begins where the previous ends (no overlap,
     * no gap), the first at 0 and the last at the end of the file (no slack). A header length off by a few bytes
     * shifts the data region and shows up here, instead of as every tensor read a few bytes off.
     */
    private static void checkCoverage(Path file, Map<String, long[]> offsets, long dataSize) {
        List<Map.Entry<String, long[]>> list = new ArrayList<>(offsets.entrySet());
        list.removeIf(e -> e.getValue()[0] == e.getValue()[1]); // empty tensors take no bytes
        list.sort(Comparator.comparingLong(e -> e.getValue()[0]));
        long pos = 0;
        String prev = null;
        for (Map.Entry<String, long[]> e : list) {
            long[] b = e.getValue();
            if (b[0] < pos)
                throw new FormatException(file + ": tensors '" + prev + "' [.., " + pos + ") and '" + e.getKey() + "' [" + b[0] + ", " + b[1] + ") overlap");
            if (b[0] > pos)
                throw new FormatException(file + ": bytes [" + pos + ", " + b[0] + ") of the data region belong to no tensor ("
                        + (prev == null ? "before the first, '" + e.getKey() + "'" : "between '" + prev + "' and '" + e.getKey() + "'") + ")");
            pos = b[1];
            prev = e.getKey();
        }
        if (pos != dataSize)
            throw new FormatException(file + ": the data region has " + dataSize + " bytes but the tensors cover " + pos + " ("
                    + (dataSize - pos) + " bytes after " + (prev == null ? "the header" : "'" + prev + "'") + " belong to no tensor; "
                    + "is the header length off?)");
    }

    public Path path() { return file.path(); }

    /** Throws {@link FileChangedException} when the file changed on disk since it was opened. */
    public void checkUnchanged() { file.checkUnchanged(); }

    /** The {@code __metadata__} map (empty if absent). */
    public Map<String, String> metadata() { return metadata; }

    /** Tensor names, sorted. */
    public Set<String> names() { return tensors.keySet(); }

    public boolean has(String name) { return tensors.containsKey(name); }

    /** The tensor's info; {@link FormatException} naming the file when it is absent. */
    public TensorInfo info(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) throw new FormatException(file.path() + ": no tensor '" + name + "'");
        return t;
    }

    /** All tensor infos, sorted by name. */
    public Iterable<TensorInfo> tensors() { return tensors.values(); }

    /** Zero-copy read-only slice holding exactly the tensor's bytes (little-endian, unaligned). */
    public MemorySegment segment(String name) {
        TensorInfo t = info(name);
        return file.slice(t.fileOffset(), t.byteSize());
    }

    /** Byte offset of the data buffer in the file (8 + header length). */
    public long dataStart() { return dataStart; }

    /** Unmaps the file; segments obtained from it become invalid. */
    @Override public void close() { file.close(); }
}
