package dev.jseek.gguf;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.io.FormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Malformed GGUF files (a valid file, then one field broken) and the exact one-line error each gives. */
class GgufMalformedTest {
    @TempDir Path tmp;
    Path good;
    byte[] bytes;

    /**
     * Layout of the valid file: header [0, 24); key "general.architecture" (len at 24, type at 52, value "test"); key
     * "x.n" UINT32 7; tensor "a.w" F32 [2, 8] (dims innermost first [8, 2]); tensor "b.w" Q8_0 [1, 32]; data section
     * at 192 (aligned to 32): a.w at offset 0 (64 bytes), b.w at 64 (34 bytes, padded to 128).
     */
    @BeforeEach
    void write() throws IOException {
        good = tmp.resolve("good.gguf");
        GgufWriter w = new GgufWriter();
        w.put("general.architecture", GgufValue.string("test"));
        w.put("x.n", GgufValue.u32(7));
        float[] a = new float[16], b = new float[32];
        for (int i = 0; i < 32; i++) b[i] = i - 10;
        w.addTensor("a.w", GgmlType.F32, new long[] {2, 8}, a);
        w.addTensor("b.w", GgmlType.Q8_0, new long[] {1, 32}, b);
        w.write(good);
        bytes = Files.readAllBytes(good);
        assertEquals(320, bytes.length);
        try (GgufFile f = GgufFile.open(good)) {
            assertEquals(192, f.dataStart());
            assertEquals(64, f.tensor("b.w").offset());
        }
    }

    /** Position of the first field after the tensor name {@code name} (its n_dims). */
    int afterName(String name) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i + n.length <= bytes.length; i++)
            if (Arrays.equals(bytes, i, i + n.length, n, 0, n.length)) return i + n.length;
        throw new AssertionError(name);
    }

    String broken(Consumer<ByteBuffer> edit) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes.clone()).order(ByteOrder.LITTLE_ENDIAN);
        edit.accept(b);
        return write(b.array());
    }

    String write(byte[] b) throws IOException {
        Path p = tmp.resolve("bad.gguf");
        Files.write(p, b);
        FormatException e = assertThrows(FormatException.class, () -> GgufFile.open(p).close());
        return e.getMessage().substring(p.toString().length() + 2);
    }

    @Test
    void headerErrors() throws IOException {
        assertEquals("not a GGUF file: magic 'GGUX', expected 'GGUF'", broken(b -> b.put(3, (byte) 'X')));
        assertEquals("not a GGUF file: magic '\\x00\\x00\\x00\\x00', expected 'GGUF'", write(new byte[40]));
        assertEquals("not a GGUF file: 10 bytes, fewer than the 24-byte header", write(Arrays.copyOf(bytes, 10)));
        assertEquals("not a GGUF file: 0 bytes, fewer than the 24-byte header", write(new byte[0]));
        assertEquals("unsupported GGUF version 4 (jseek reads versions 2 and 3)", broken(b -> b.putInt(4, 4)));
        assertEquals("unsupported GGUF version 1 (jseek reads versions 2 and 3)", broken(b -> b.putInt(4, 1)));
        assertEquals("kv_count 1099511627776 is impossible: the 296 bytes after it hold at most 22 entries",
                broken(b -> b.putLong(16, 1L << 40)));
        assertEquals("tensor_count 1000000 is impossible: the 233 bytes after it hold at most 7 entries",
                broken(b -> b.putLong(8, 1_000_000)));
    }

    @Test
    void truncation() throws IOException {
        assertEquals("truncated: value of metadata key 'general.architecture' length at byte 56 needs 8 bytes but the file ends at byte 60",
                write(Arrays.copyOf(bytes, 60)));
        assertEquals("truncated: tensor 'b.w' dim 1 at byte 153 needs 8 bytes but the file ends at byte 155", write(Arrays.copyOf(bytes, 155)));
        // header intact, data cut: b.w no longer fits the data section
        assertEquals("tensor 'b.w': data [64, 98) lies outside the data section of 80 bytes (starting at byte 192)",
                write(Arrays.copyOf(bytes, 272)));
    }

    @Test
    void metadataErrors() throws IOException {
        assertEquals("metadata key 'general.architecture': unknown value type 13", broken(b -> b.putInt(52, 13)));
        assertEquals("metadata key 'x.n' appears twice (again at byte 43)", dupKey());
        assertEquals("metadata key 0: length 1152921504606846976 exceeds the limit of 65536 bytes", broken(b -> b.putLong(24, 1L << 60)));
        assertEquals("metadata key 'general.architecture': bool byte 2 is neither 0 nor 1",
                broken(b -> b.putInt(52, GgufValueType.BOOL.id).put(56, (byte) 2)));
        byte[] bad = bytes.clone();
        bad[32] = (byte) 0xC3; // a lone UTF-8 lead byte followed by 'e'
        assertEquals("metadata key 0 is not valid UTF-8 (20 bytes at byte 32)", write(bad));
    }

    /** A file whose two keys are both "x.n". */
    private String dupKey() throws IOException {
        GgufWriter w = new GgufWriter();
        w.put("x.n", GgufValue.u32(7));
        w.put("x.m", GgufValue.u32(8));
        Path p = tmp.resolve("dup.gguf");
        w.write(p);
        byte[] b = Files.readAllBytes(p);
        int i = afterNameIn(b, "x.m");
        b[i - 1] = 'n';
        return write(b);
    }

    private static int afterNameIn(byte[] b, String name) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i + n.length <= b.length; i++) if (Arrays.equals(b, i, i + n.length, n, 0, n.length)) return i + n.length;
        throw new AssertionError(name);
    }

    @Test
    void alignmentErrors() throws IOException {
        GgufWriter w = new GgufWriter();
        w.put("general.alignment", GgufValue.u32(64));
        Path p = tmp.resolve("al.gguf");
        w.write(p);
        byte[] b = Files.readAllBytes(p);
        int v = afterNameIn(b, "general.alignment") + 4;
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        bb.putInt(v, 48);
        assertEquals("general.alignment 48 must be a power of two", write(b));
        bb.putInt(v, 0);
        assertEquals("general.alignment 0 must be a power of two", write(b));
        bb.putInt(v - 4, GgufValueType.INT32.id);
        bb.putInt(v, 64);
        assertEquals("general.alignment must be a UINT32, got INT32 64", write(b));
    }

    @Test
    void tensorInfoErrors() throws IOException {
        int a = afterName("a.w"), b = afterName("b.w"); // n_dims, dims..., type, offset
        assertEquals("tensor 'b.w': offset 40 is not a multiple of the alignment 32", broken(x -> x.putLong(b + 4 + 16 + 4, 40)));
        assertEquals("tensor 'b.w': data [1048576, 1048610) lies outside the data section of 128 bytes (starting at byte 192)",
                broken(x -> x.putLong(b + 4 + 16 + 4, 1 << 20)));
        assertEquals("tensors 'a.w' [0, 64) and 'b.w' [32, 66) overlap", broken(x -> x.putLong(b + 4 + 16 + 4, 32)));
        assertEquals("tensor 'a.w': unknown ggml type 99", broken(x -> x.putInt(a + 4 + 16, 99)));
        assertEquals("tensor 'a.w': n_dims 5 is outside 1..4", broken(x -> x.putInt(a, 5)));
        assertEquals("tensor 'a.w': n_dims 0 is outside 1..4", broken(x -> x.putInt(a, 0)));
        assertEquals("tensor 'b.w': row length (dim 0) 33 is not a multiple of the Q8_0 block size 32", broken(x -> x.putLong(b + 4, 33)));
        assertEquals("tensor 'a.w': dim 1 = 18446744073709551615 is too large", broken(x -> x.putLong(a + 4 + 8, -1)));
        assertEquals("tensor 'a.w': dims [4611686018427387904, 4] of F32 are too large (byte count overflows)",
                broken(x -> x.putLong(a + 4, 1L << 62).putLong(a + 12, 4)));
        assertEquals("tensor 'a.w' appears twice", broken(x -> x.put(b - 3, (byte) 'a')));
    }

    @Test
    void failedWriteLeavesNoFileAndKeepsTheOldOne() throws IOException {
        GgufWriter w = new GgufWriter();
        w.addTensor("x", GgmlType.F32, new long[] {4}, out -> out.putFloat(1f)); // 4 of 16 bytes
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> w.write(good));
        assertEquals(good + ": tensor 'x' wrote 4 bytes, its F32 [4] needs 16", e.getMessage());
        assertArrayEquals(bytes, Files.readAllBytes(good));
        try (var s = Files.list(tmp)) { assertEquals(1, s.count(), "no temporary file left"); }
        GgufWriter nan = new GgufWriter();
        nan.addTensor("q", GgmlType.Q8_0, new long[] {32}, new float[] {Float.POSITIVE_INFINITY, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
        FormatException f = assertThrows(FormatException.class, () -> nan.write(good));
        assertEquals(good + ": tensor 'q': value 0 is Infinity, Q8_0 needs finite values", f.getMessage());
        assertArrayEquals(bytes, Files.readAllBytes(good));
    }

    @Test
    void modelErrorsNameTheFileKeyAndTensor() throws IOException {
        FormatException e = assertThrows(FormatException.class, () -> GgufModel.open(good));
        assertEquals(good + ": general.architecture is 'test', jseek runs 'deepseek2' (DeepSeek-V3) models", e.getMessage());
    }
}
