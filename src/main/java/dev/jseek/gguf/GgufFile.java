package dev.jseek.gguf;

import dev.jseek.io.FormatException;
import dev.jseek.io.MappedFile;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF file (llama.cpp / ggml's model format), memory-mapped read-only through FFM. Layout (little-endian):
 * <pre>
 *   "GGUF" magic, uint32 version (2 or 3; 1 used 32-bit counts and is refused), uint64 tensor_count, uint64 kv_count,
 *   kv_count x (string key, uint32 value type, value)                 see {@link GgufValueType}
 *   tensor_count x (string name, uint32 n_dims, uint64 dims[n_dims] (innermost first), uint32 ggml type, uint64 offset)
 *   zero padding to a multiple of the alignment ({@code general.alignment}, UINT32, default 32)
 *   data section: each tensor's bytes at data start + offset, offsets multiples of the alignment
 * </pre>
 * where a string is uint64 byte length + UTF-8 bytes without terminator.
 *
 * <p>Opening validates everything a corrupt or hostile file can get wrong before any tensor is touched: magic,
 * version, counts that cannot fit the file (no huge allocation from a bad count), truncation anywhere, unknown
 * value and ggml types, invalid UTF-8, duplicate keys and names, n_dims outside 1..4, negative or overflowing dims,
 * a row length that is not a whole number of blocks, a bad {@code general.alignment}, offsets that are misaligned,
 * outside the data section, or overlapping. Each error is a {@link FormatException} naming the file, the key or
 * tensor, and the value. Segments are zero-copy slices of the mapping, valid until {@link #close()}.
 */
public final class GgufFile implements AutoCloseable {
    public static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
    public static final int DEFAULT_ALIGNMENT = 32;
    public static final String ALIGNMENT_KEY = "general.alignment";
    /** Largest n_dims ggml supports (GGML_MAX_DIMS). */
    public static final int MAX_DIMS = 4;
    /** Longest key or tensor name accepted. */
    public static final int MAX_NAME_BYTES = 1 << 16;
    /** Deepest nesting of arrays accepted. */
    public static final int MAX_ARRAY_DEPTH = 4;

    static final ValueLayout.OfInt LE_I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LE_I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort LE_I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat LE_F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfDouble LE_F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MappedFile file;

    /** Throws {@link dev.jseek.io.FileChangedException} when the file changed on disk since it was opened. */
    public void checkUnchanged() { file.checkUnchanged(); }
    private final int version;
    private final long alignment;
    private final long dataStart;
    private final Map<String, GgufValue> metadata;
    private final Map<String, GgufTensorInfo> tensors; // file order

    private GgufFile(MappedFile file, int version, long alignment, long dataStart,
                     Map<String, GgufValue> metadata, Map<String, GgufTensorInfo> tensors) {
        this.file = file;
        this.version = version;
        this.alignment = alignment;
        this.dataStart = dataStart;
        this.metadata = metadata;
        this.tensors = tensors;
    }

    /** True when {@code file} is a regular file starting with the GGUF magic (no other validation). */
    public static boolean isGguf(Path file) {
        if (!Files.isRegularFile(file)) return false;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            while (b.hasRemaining()) if (ch.read(b) < 0) return false;
            return b.getInt(0) == MAGIC;
        } catch (IOException e) {
            return false;
        }
    }

    /** Opens and validates {@code file}; throws {@link FormatException} for malformed content, I/O problems included. */
    public static GgufFile open(Path file) {
        return MappedFile.open(file, dev.jseek.io.FileMemory.mmap(), (ch, bytes) -> new Parser(file, bytes.hold(ch.size())).parse());
    }

    /** Reads the header of a mapped file; one instance per open. */
    private static final class Parser {
        final Path file;
        final MappedFile held;
        final MemorySegment m;
        final long size;
        long pos;

        Parser(Path file, MappedFile held) {
            this.file = file;
            this.held = held;
            this.m = held.bytes();
            this.size = m.byteSize();
        }

        FormatException fail(String what) { return new FormatException(file + ": " + what); }

        void need(long n, String what) {
            if (n < 0 || pos + n > size || pos + n < 0)
                throw fail("truncated: " + what + " at byte " + pos + " needs " + (n < 0 ? Long.toUnsignedString(n) : n)
                        + " bytes but the file ends at byte " + size);
        }

        int u32(String what) { need(4, what); int v = m.get(LE_I32, pos); pos += 4; return v; }

        long u64(String what) { need(8, what); long v = m.get(LE_I64, pos); pos += 8; return v; }

        String string(String what, long maxBytes) {
            long n = u64(what + " length");
            if (n < 0 || n > maxBytes) throw fail(what + ": length " + Long.toUnsignedString(n) + " exceeds the limit of " + maxBytes + " bytes");
            need(n, what);
            byte[] b = m.asSlice(pos, n).toArray(ValueLayout.JAVA_BYTE);
            pos += n;
            try {
                return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(b)).toString();
            } catch (CharacterCodingException e) {
                throw fail(what + " is not valid UTF-8 (" + n + " bytes at byte " + (pos - n) + ")");
            }
        }

        GgufFile parse() {
            if (size < 24) {
                if (size >= 4 && m.get(LE_I32, 0) != MAGIC) badMagic();
                throw fail("not a GGUF file: " + size + " bytes, fewer than the 24-byte header");
            }
            if (m.get(LE_I32, 0) != MAGIC) badMagic();
            pos = 4;
            int version = u32("version");
            if (version != 2 && version != 3)
                throw fail("unsupported GGUF version " + Integer.toUnsignedString(version) + " (jseek reads versions 2 and 3)");
            long tensorCount = u64("tensor_count"), kvCount = u64("kv_count");
            // every kv takes at least 8 (key length) + 4 (type) + 1 bytes; every tensor info 8 + 4 + 8 + 4 + 8
            checkCount("kv_count", kvCount, 13);
            Map<String, GgufValue> kv = new LinkedHashMap<>();
            for (long i = 0; i < kvCount; i++) {
                long at = pos;
                String key = string("metadata key " + i, MAX_NAME_BYTES);
                int t = u32("value type of metadata key '" + key + "'");
                GgufValueType type = GgufValueType.fromId(Integer.toUnsignedLong(t));
                if (type == null) throw fail("metadata key '" + key + "': unknown value type " + Integer.toUnsignedString(t));
                GgufValue v = value(key, type, 0);
                if (kv.put(key, v) != null) throw fail("metadata key '" + key + "' appears twice (again at byte " + at + ")");
            }
            checkCount("tensor_count", tensorCount, 32);
            long alignment = DEFAULT_ALIGNMENT;
            GgufValue al = kv.get(ALIGNMENT_KEY);
            if (al != null) {
                if (al.type() != GgufValueType.UINT32)
                    throw fail(ALIGNMENT_KEY + " must be a UINT32, got " + al.type() + " " + al.display(4));
                alignment = al.asLong();
                if (alignment == 0 || Long.bitCount(alignment) != 1)
                    throw fail(ALIGNMENT_KEY + " " + alignment + " must be a power of two");
            }
            List<GgufTensorInfo> infos = new ArrayList<>();
            Map<String, GgufTensorInfo> byName = new LinkedHashMap<>();
            long[][] rawOffsets = new long[(int) tensorCount][];
            for (int i = 0; i < tensorCount; i++) {
                String name = string("tensor name " + i, MAX_NAME_BYTES);
                String where = "tensor '" + name + "'";
                int nd = u32(where + " n_dims");
                if (nd < 1 || nd > MAX_DIMS) throw fail(where + ": n_dims " + Integer.toUnsignedString(nd) + " is outside 1.." + MAX_DIMS);
                long[] dims = new long[nd];
                long count = 1;
                boolean overflow = false;
                for (int d = 0; d < nd; d++) {
                    dims[d] = u64(where + " dim " + d);
                    if (dims[d] < 0) throw fail(where + ": dim " + d + " = " + Long.toUnsignedString(dims[d]) + " is too large");
                    try { count = Math.multiplyExact(count, dims[d]); } catch (ArithmeticException e) { overflow = true; }
                }
                int tid = u32(where + " type");
                GgmlType type = GgmlType.fromId(Integer.toUnsignedLong(tid));
                if (type == null) throw fail(where + ": unknown ggml type " + Integer.toUnsignedString(tid));
                long off = u64(where + " offset");
                if (dims[0] % type.blockSize != 0)
                    throw fail(where + ": row length (dim 0) " + dims[0] + " is not a multiple of the " + type + " block size " + type.blockSize);
                long bytes;
                try {
                    if (overflow) throw new ArithmeticException();
                    bytes = type.byteSize(count);
                } catch (ArithmeticException e) {
                    throw fail(where + ": dims " + java.util.Arrays.toString(dims) + " of " + type + " are too large (byte count overflows)");
                }
                rawOffsets[i] = new long[] {off, bytes};
                GgufTensorInfo prev = byName.put(name, null);
                if (prev != null || byName.size() != i + 1) throw fail(where + " appears twice");
                infos.add(new GgufTensorInfo(name, dims, type, off, 0, bytes));
            }
            long dataStart = alignUp(pos, alignment);
            long dataSize = Math.max(0, size - dataStart);
            for (int i = 0; i < infos.size(); i++) {
                GgufTensorInfo t = infos.get(i);
                long off = rawOffsets[i][0], bytes = rawOffsets[i][1];
                String where = "tensor '" + t.name() + "'";
                if (off < 0 || off % alignment != 0)
                    throw fail(where + ": offset " + Long.toUnsignedString(off) + " is not a multiple of the alignment " + alignment);
                if (off > dataSize || bytes > dataSize - off)
                    throw fail(where + ": data [" + off + ", " + (off + bytes) + ") lies outside the data section of "
                            + dataSize + " bytes (starting at byte " + dataStart + ")");
                GgufTensorInfo full = new GgufTensorInfo(t.name(), t.dims(), t.type(), off, dataStart + off, bytes);
                infos.set(i, full);
                byName.put(t.name(), full);
            }
            checkOverlaps(infos);
            return new GgufFile(held, version, alignment, dataStart, Collections.unmodifiableMap(kv), Collections.unmodifiableMap(byName));
        }

        private void badMagic() {
            int v = m.get(LE_I32, 0);
            StringBuilder s = new StringBuilder();
            for (int i = 0; i < 4; i++) {
                int c = (v >>> (8 * i)) & 0xFF;
                s.append(c >= 32 && c < 127 ? String.valueOf((char) c) : String.format("\\x%02X", c));
            }
            throw fail("not a GGUF file: magic '" + s + "', expected 'GGUF'");
        }

        private void checkCount(String field, long count, long minBytesEach) {
            long room = size - pos;
            if (count < 0 || count > room / minBytesEach)
                throw fail(field + " " + Long.toUnsignedString(count) + " is impossible: the " + room
                        + " bytes after it hold at most " + room / minBytesEach + " entries");
        }

        private GgufValue value(String key, GgufValueType type, int depth) {
            String what = "value of metadata key '" + key + "'";
            return switch (type) {
                case UINT8 -> { need(1, what); long v = m.get(ValueLayout.JAVA_BYTE, pos) & 0xFF; pos += 1; yield new GgufValue(type, v, null); }
                case INT8 -> { need(1, what); long v = m.get(ValueLayout.JAVA_BYTE, pos); pos += 1; yield new GgufValue(type, v, null); }
                case UINT16 -> { need(2, what); long v = m.get(LE_I16, pos) & 0xFFFF; pos += 2; yield new GgufValue(type, v, null); }
                case INT16 -> { need(2, what); long v = m.get(LE_I16, pos); pos += 2; yield new GgufValue(type, v, null); }
                case UINT32 -> new GgufValue(type, Integer.toUnsignedLong(u32(what)), null);
                case INT32 -> new GgufValue(type, (long) u32(what), null);
                case UINT64, INT64 -> new GgufValue(type, u64(what), null);
                case FLOAT32 -> { need(4, what); float f = m.get(LE_F32, pos); pos += 4; yield new GgufValue(type, (double) f, null); }
                case FLOAT64 -> { need(8, what); double f = m.get(LE_F64, pos); pos += 8; yield new GgufValue(type, f, null); }
                case BOOL -> {
                    need(1, what);
                    int b = m.get(ValueLayout.JAVA_BYTE, pos) & 0xFF;
                    if (b > 1) throw fail("metadata key '" + key + "': bool byte " + b + " is neither 0 nor 1");
                    pos += 1;
                    yield new GgufValue(type, b == 1, null);
                }
                case STRING -> new GgufValue(type, string(what, size), null);
                case ARRAY -> {
                    if (depth >= MAX_ARRAY_DEPTH) throw fail("metadata key '" + key + "': arrays nested deeper than " + MAX_ARRAY_DEPTH);
                    int et = u32("array element type of metadata key '" + key + "'");
                    GgufValueType etype = GgufValueType.fromId(Integer.toUnsignedLong(et));
                    if (etype == null) throw fail("metadata key '" + key + "': unknown array element type " + Integer.toUnsignedString(et));
                    long n = u64("array length of metadata key '" + key + "'");
                    long room = size - pos;
                    if (n < 0 || n > room / etype.minBytes)
                        throw fail("metadata key '" + key + "': array length " + Long.toUnsignedString(n) + " of " + etype
                                + " is impossible: the " + room + " bytes after it hold at most " + room / etype.minBytes);
                    List<GgufValue> l = new ArrayList<>((int) Math.min(n, 1 << 16));
                    for (long i = 0; i < n; i++) l.add(value(key, etype, depth + 1));
                    yield new GgufValue(type, l, etype);
                }
            };
        }

        private void checkOverlaps(List<GgufTensorInfo> infos) {
            List<GgufTensorInfo> l = new ArrayList<>(infos);
            l.removeIf(t -> t.byteSize() == 0);
            l.sort(Comparator.comparingLong(GgufTensorInfo::offset));
            for (int i = 1; i < l.size(); i++) {
                GgufTensorInfo a = l.get(i - 1), b = l.get(i);
                if (b.offset() < a.offset() + a.byteSize())
                    throw fail("tensors '" + a.name() + "' [" + a.offset() + ", " + (a.offset() + a.byteSize()) + ") and '" + b.name()
                            + "' [" + b.offset() + ", " + (b.offset() + b.byteSize()) + ") overlap");
            }
        }
    }

    static long alignUp(long x, long a) { return (x + a - 1) / a * a; }

    public Path path() { return file.path(); }

    /** The format version (2 or 3). */
    public int version() { return version; }

    /** The data alignment ({@code general.alignment}, default 32). */
    public long alignment() { return alignment; }

    /** Absolute byte offset of the data section. */
    public long dataStart() { return dataStart; }

    /** Every metadata key-value pair, in file order. */
    public Map<String, GgufValue> metadata() { return metadata; }

    /** The value of {@code key}, or null. */
    public GgufValue get(String key) { return metadata.get(key); }

    /** Tensor infos in file order. */
    public java.util.Collection<GgufTensorInfo> tensors() { return tensors.values(); }

    public boolean has(String name) { return tensors.containsKey(name); }

    /** The tensor's info; {@link FormatException} naming the file when absent. */
    public GgufTensorInfo tensor(String name) {
        GgufTensorInfo t = tensors.get(name);
        if (t == null) throw new FormatException(file.path() + ": no tensor '" + name + "'");
        return t;
    }

    /** Zero-copy read-only slice holding exactly the tensor's bytes. */
    public MemorySegment segment(String name) {
        GgufTensorInfo t = tensor(name);
        return file.slice(t.fileOffset(), t.byteSize());
    }

    /** Unmaps the file; segments obtained from it become invalid. */
    @Override public void close() { file.close(); }
}
