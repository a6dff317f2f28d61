package dev.jseek.io;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.tensor.DType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Malformed safetensors files and checkpoints (bytes written by hand): each must give a {@link FormatException}
 * whose message names the file and the problem, never a raw exception or a huge allocation.
 */
class SafetensorsBadInputTest {
    @TempDir Path tmp;

    /** A file with the given JSON header and {@code dataBytes} zero bytes of data. */
    private Path raw(String name, String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path p = tmp.resolve(name);
        Files.write(p, b.array());
        return p;
    }

    private static FormatException fails(Path file, String... fragments) {
        FormatException e = assertThrows(FormatException.class, () -> SafetensorsFile.open(file).close());
        assertMentions(e, file.getFileName().toString());
        assertMentions(e, fragments);
        return e;
    }

    private static void assertMentions(Exception e, String... fragments) {
        for (String f : fragments)
            assertTrue(e.getMessage().contains(f), "message '" + e.getMessage() + "' should mention '" + f + "'");
    }

    @Test
    void tooShortFile() throws IOException {
        Path p = tmp.resolve("short.safetensors");
        Files.write(p, new byte[] {1, 2, 3});
        fails(p, "3 bytes");
    }

    @Test
    void headerLengthBeyondFileSize() throws IOException {
        Path p = tmp.resolve("len.safetensors");
        ByteBuffer b = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40);
        Files.write(p, b.array());
        fails(p, "header length " + (1L << 40), "file size 24");
        b.putLong(0, -5L); // huge unsigned value
        Files.write(p, b.array());
        fails(p, "header length 18446744073709551611");
    }

    @Test
    void headerLengthOverTheCapIsRejectedWithoutAllocating() throws IOException {
        Path p = tmp.resolve("cap.safetensors");
        long len = SafetensorsFile.MAX_HEADER_BYTES + 1000;
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.SPARSE)) {
            ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, len), 0);
            ch.write(ByteBuffer.wrap(new byte[] {'}'}), len + 16); // sparse: file size > len, nothing allocated
        }
        fails(p, "header length " + len, "exceeds the limit");
    }

    @Test
    void invalidJson() throws IOException {
        fails(raw("syntax.safetensors", "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], ", 4), "not valid JSON");
        fails(raw("trailing.safetensors", "{} {}", 0), "not valid JSON");
        fails(raw("array.safetensors", "[1, 2, 3]", 0), "must be a JSON object", "ARRAY");
        fails(raw("dup.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "not valid JSON", "Duplicate field 'a'");
    }

    @Test
    void unknownDtype() throws IOException {
        fails(raw("dtype.safetensors", "{\"w\":{\"dtype\":\"F7\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2), "'w'", "unknown dtype 'F7'");
        fails(raw("nodtype.safetensors", "{\"w\":{\"shape\":[2],\"data_offsets\":[0,2]}}", 2), "'w'", "dtype");
    }

    @Test
    void shapeAndByteCountMismatch() throws IOException {
        fails(raw("count.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 20),
                "'w'", "[2,3]", "needs 24 bytes", "span 20");
        fails(raw("overflow.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,4]}}", 4),
                "'w'", "too large");
    }

    @Test
    void negativeAndNonIntegerDims() throws IOException {
        fails(raw("neg.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-2,3],\"data_offsets\":[0,0]}}", 0), "'w'", "negative dim -2");
        fails(raw("frac.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4), "'w'", "non-integer dim 1.5");
    }

    @Test
    void offsetsOutOfRange() throws IOException {
        fails(raw("range.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 16),
                "'w'", "[8,24]", "out of range", "16 bytes");
        fails(raw("reversed.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 16), "'w'", "end before begin");
        fails(raw("negoff.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 16), "'w'", "non-negative");
        fails(raw("oneoff.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 16), "'w'", "data_offsets");
    }

    @Test
    void overlappingTensors() throws IOException {
        fails(raw("overlap.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}", 20), "'a'", "'b'", "overlap");
        // adjacent and empty tensors are fine
        try (SafetensorsFile f = SafetensorsFile.open(raw("adjacent.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                + "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[16,20]}}", 20))) {
            assertEquals(3, f.names().size());
        }
    }

    /** issue 10 §8: every byte of the data region belongs to exactly one tensor. */
    @Test
    void theDataRegionIsCoveredExactly() throws IOException {
        fails(raw("gap.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[20,24]}}", 24), "bytes [16, 20)", "between 'a' and 'b'");
        fails(raw("lead.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[4,20]}}", 20),
                "bytes [0, 4)", "before the first, 'a'");
        fails(raw("slack.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 20),
                "has 20 bytes but the tensors cover 16", "4 bytes after 'a'");
        fails(raw("none.safetensors", "{\"__metadata__\":{}}", 8), "8 bytes after the header");
    }

    /**
     * issue 10 §8: a header length one byte short of the real (space-padded) header still parses, and before, every
     * tensor was then read one byte off (all-NaN logits, exit 0); now the shifted data region does not add up.
     */
    @Test
    void aHeaderLengthOneByteShortIsRefused() throws IOException {
        byte[] h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}   ".getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + 16).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        for (int i = 0; i < 4; i++) b.putFloat(1f + i);
        Path p = tmp.resolve("short-header.safetensors");
        Files.write(p, b.array());
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(2f, f.segment("a").get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 4));
        }
        b.putLong(0, h.length - 1);
        Files.write(p, b.array());
        fails(p, "1 bytes after 'a' belong to no tensor", "header length");
    }

    @Test
    void badMetadata() throws IOException {
        fails(raw("meta.safetensors", "{\"__metadata__\":{\"format\":3}}", 0), "__metadata__", "'format'", "3");
        fails(raw("meta2.safetensors", "{\"__metadata__\":[1]}", 0), "__metadata__");
    }

    @Test
    void missingFile() {
        FormatException e = assertThrows(FormatException.class, () -> SafetensorsFile.open(tmp.resolve("nope.safetensors")));
        assertMentions(e, "nope.safetensors", "cannot read");
    }

    // ---------------------------------------------------------------------------------------------------------
    // Checkpoint-level errors

    private Path dirWith(String name) throws IOException { return Files.createDirectories(tmp.resolve(name)); }

    @Test
    void indexListsAMissingShard() throws IOException {
        Path d = dirWith("missing_shard");
        new SafetensorsWriter().addFloats("a", DType.F32, new float[] {1}, 1).write(d.resolve("s1.safetensors"));
        Files.writeString(d.resolve(Checkpoint.INDEX_FILE), "{\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s2.safetensors\"}}");
        FormatException e = assertThrows(FormatException.class, () -> Checkpoint.open(d));
        assertMentions(e, Checkpoint.INDEX_FILE, "s2.safetensors", "'b'", "missing");
    }

    @Test
    void indexPlacesATensorInAShardThatLacksIt() throws IOException {
        Path d = dirWith("wrong_shard");
        new SafetensorsWriter().addFloats("a", DType.F32, new float[] {1}, 1).write(d.resolve("s1.safetensors"));
        new SafetensorsWriter().addFloats("b", DType.F32, new float[] {1}, 1).write(d.resolve("s2.safetensors"));
        Files.writeString(d.resolve(Checkpoint.INDEX_FILE), "{\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s1.safetensors\",\"c\":\"s2.safetensors\"}}");
        FormatException e = assertThrows(FormatException.class, () -> Checkpoint.open(d));
        assertMentions(e, Checkpoint.INDEX_FILE, "'b'", "s1.safetensors", "does not contain it");
    }

    @Test
    void badIndexJson() throws IOException {
        Path d = dirWith("bad_index");
        Files.writeString(d.resolve(Checkpoint.INDEX_FILE), "{\"weight_map\": {");
        assertMentions(assertThrows(FormatException.class, () -> Checkpoint.open(d)), Checkpoint.INDEX_FILE, "not valid JSON");
        Files.writeString(d.resolve(Checkpoint.INDEX_FILE), "{\"metadata\": {}}");
        assertMentions(assertThrows(FormatException.class, () -> Checkpoint.open(d)), Checkpoint.INDEX_FILE, "weight_map");
        Files.writeString(d.resolve(Checkpoint.INDEX_FILE), "{\"weight_map\": {\"a\": \"../../etc/passwd\"}}");
        assertMentions(assertThrows(FormatException.class, () -> Checkpoint.open(d)), Checkpoint.INDEX_FILE, "outside the directory");
    }

    @Test
    void duplicateTensorAcrossFiles() throws IOException {
        Path d = dirWith("dup");
        new SafetensorsWriter().addFloats("a", DType.F32, new float[] {1}, 1).write(d.resolve("x.safetensors"));
        new SafetensorsWriter().addFloats("a", DType.F32, new float[] {2}, 1).write(d.resolve("y.safetensors"));
        assertMentions(assertThrows(FormatException.class, () -> Checkpoint.open(d)), "'a'", "x.safetensors", "y.safetensors");
    }

    @Test
    void emptyOrMissingDirectory() throws IOException {
        Path d = dirWith("empty");
        assertMentions(assertThrows(FormatException.class, () -> Checkpoint.open(d)), "empty", "no ");
        assertMentions(assertThrows(FormatException.class, () -> Checkpoint.open(tmp.resolve("absent"))), "absent");
    }

    @Test
    void corruptShardInsideACheckpointNamesTheShard() throws IOException {
        Path d = dirWith("corrupt");
        Files.write(d.resolve(Checkpoint.SINGLE_FILE), new byte[] {9, 0, 0, 0, 0, 0, 0, 0, '{'});
        assertMentions(assertThrows(FormatException.class, () -> Checkpoint.open(d)), Checkpoint.SINGLE_FILE, "header length 9");
    }

    @Test
    void shapeDtypeAndScaleErrorsNameTheTensor() throws IOException {
        Path d = dirWith("shapes");
        byte[] fp8 = new byte[4 * 3];
        new SafetensorsWriter()
                .addFloats("w.weight", DType.F32, new float[6], 2, 3)
                .add("q.weight", DType.F8_E4M3, new long[] {4, 3}, fp8)
                .add("r.weight", DType.F8_E4M3, new long[] {4, 3}, fp8)
                .addFloats("r.weight_scale_inv", DType.F32, new float[2], 1, 2)
                .add("s.weight", DType.F8_E4M3, new long[] {4, 3}, fp8)
                .addFloats("s.weight_scale_inv", DType.BF16, new float[1], 1, 1)
                .add("i.weight", DType.I32, new long[] {2, 2}, new byte[16])
                .write(d.resolve(Checkpoint.SINGLE_FILE));
        try (Checkpoint ck = Checkpoint.open(d)) {
            assertMentions(assertThrows(FormatException.class, () -> ck.matrix("w.weight", 3, 2)),
                    Checkpoint.SINGLE_FILE, "'w.weight'", "[2, 3]", "expected [3, 2]");
            assertMentions(assertThrows(FormatException.class, () -> ck.matrix("q.weight", 4, 3)),
                    Checkpoint.SINGLE_FILE, "'q.weight'", "'q.weight_scale_inv'");
            assertMentions(assertThrows(FormatException.class, () -> ck.matrix("r.weight", 4, 3)),
                    "'r.weight_scale_inv'", "[1, 2]", "expected F32 [1, 1]");
            assertMentions(assertThrows(FormatException.class, () -> ck.floats("s.weight", 4, 3)),
                    "'s.weight_scale_inv'", "BF16", "expected F32 [1, 1]");
            assertMentions(assertThrows(FormatException.class, () -> ck.matrix("i.weight", 2, 2)), "'i.weight'", "I32");
            assertMentions(assertThrows(FormatException.class, () -> ck.floats("i.weight")), "'i.weight'", "I32");
            assertMentions(assertThrows(FormatException.class, () -> ck.floats("w.weight", 6)), "'w.weight'", "[2, 3]", "expected [6]");
            assertMentions(assertThrows(FormatException.class, () -> ck.info("absent.weight")), "shapes", "'absent.weight'");
            assertMentions(assertThrows(FormatException.class, () -> ck.segment("absent.weight")), "'absent.weight'");
        }
    }
}
