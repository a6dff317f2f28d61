package dev.jseek.io;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.tensor.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** .npy reading against files numpy wrote (src/test/resources/npy, tools/make_parity_fixtures.py), and round trips. */
class NpyTest {
    static final Path NPY = Path.of("src/test/resources/npy");
    @TempDir Path tmp;

    @Test
    void readsWhatNumpyWrote() {
        float[] f = Npy.readFloats(NPY.resolve("f4_2x3x4.npy"), 2, 3, 4);
        for (int i = 0; i < 24; i++) assertEquals(i * 0.5f - 3f, f[i]);
        NpyArray d = Npy.read(NPY.resolve("f8_3.npy"));
        assertEquals(DType.F64, d.dtype());
        assertArrayEquals(new double[] {1.5, -2.25, 1e300}, d.doubles());
        assertArrayEquals(new int[] {1, -2, Integer.MAX_VALUE, Integer.MIN_VALUE}, Npy.readInts(NPY.resolve("i4_2x2.npy"), 2, 2));
        NpyArray l = Npy.read(NPY.resolve("i8_5.npy"));
        assertArrayEquals(new long[] {5}, l.shape());
        assertArrayEquals(new long[] {0, -1, 1L << 40, 7, -(1L << 62)}, l.longs());
        FormatException big = assertThrows(FormatException.class, () -> Npy.readInts(NPY.resolve("i8_5.npy")));
        assertTrue(big.getMessage().contains("1099511627776"), big.getMessage());
        NpyArray s = Npy.read(NPY.resolve("f4_scalar.npy"));
        assertEquals(0, s.shape().length);
        assertArrayEquals(new float[] {3.25f}, s.floats());
        assertEquals(0, Npy.readFloats(NPY.resolve("f4_0x3.npy"), 0, 3).length);
        assertArrayEquals(new float[] {1, -2, 0.5f, 1e-3f}, Npy.readFloats(NPY.resolve("f4be_4.npy"), 4));
    }

    @Test
    void readsParityFixtures() {
        Path c = Path.of("src/test/resources/parity/yarn_qlora");
        float[] logits = Npy.readFloats(c.resolve("logits.npy"));
        NpyArray a = Npy.read(c.resolve("logits.npy"));
        assertEquals(2, a.shape().length);
        assertEquals(a.size(), logits.length);
        int[] topk = Npy.readInts(c.resolve("topk.npy"));
        for (int v : topk) assertTrue(v >= 0 && v < 16);
    }

    @Test
    void roundTripsFloatsAndInts() throws IOException {
        Random r = new Random(5);
        float[] x = new float[3 * 5 * 7];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        x[3] = Float.NaN;
        x[4] = Float.NEGATIVE_INFINITY;
        Path p = tmp.resolve("x.npy");
        Npy.writeFloats(p, x, 3, 5, 7);
        assertTrue(Npy.isNpy(p));
        byte[] raw = Files.readAllBytes(p);
        assertEquals(0, (raw.length - 4 * x.length) % 64, "header padded to 64 bytes");
        assertEquals(1, raw[6]);
        float[] back = Npy.readFloats(p, 3, 5, 7);
        for (int i = 0; i < x.length; i++) assertEquals(Float.floatToRawIntBits(x[i]), Float.floatToRawIntBits(back[i]));
        Npy.writeFloats(tmp.resolve("v.npy"), new float[] {1, 2}, 2);
        assertArrayEquals(new long[] {2}, Npy.read(tmp.resolve("v.npy")).shape());
        Npy.writeFloats(tmp.resolve("s.npy"), new float[] {7});
        assertEquals(0, Npy.read(tmp.resolve("s.npy")).shape().length);
        Npy.writeInts(tmp.resolve("i.npy"), new int[] {1, -1, 5, 6}, 2, 2);
        assertArrayEquals(new int[] {1, -1, 5, 6}, Npy.readInts(tmp.resolve("i.npy"), 2, 2));
        assertThrows(IllegalArgumentException.class, () -> Npy.writeFloats(tmp.resolve("bad.npy"), new float[3], 2, 2));
        assertFalse(Files.exists(tmp.resolve("bad.npy")));
        try (var ls = Files.list(tmp)) {
            assertTrue(ls.noneMatch(f -> f.getFileName().toString().endsWith(".tmp")), "no temp files left");
        }
    }

    @Test
    void malformedFilesNameTheFileAndProblem() throws IOException {
        assertMentions(assertThrows(FormatException.class, () -> Npy.read(NPY.resolve("f4_fortran.npy"))), "f4_fortran.npy", "fortran_order");
        assertMentions(assertThrows(FormatException.class, () -> Npy.readFloats(NPY.resolve("i4_2x2.npy"))), "i4_2x2.npy", "I32");
        assertMentions(assertThrows(FormatException.class, () -> Npy.readFloats(NPY.resolve("f4_2x3x4.npy"), 24)), "[2, 3, 4]", "expected [24]");
        Path p = tmp.resolve("junk.npy");
        Files.write(p, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
        assertMentions(assertThrows(FormatException.class, () -> Npy.read(p)), "junk.npy", "magic");
        Path t = tmp.resolve("trunc.npy");
        Npy.writeFloats(t, new float[10], 10);
        byte[] raw = Files.readAllBytes(t);
        Files.write(t, java.util.Arrays.copyOf(raw, raw.length - 4));
        assertMentions(assertThrows(FormatException.class, () -> Npy.read(t)), "trunc.npy", "needs 40", "has 36");
        Path u = tmp.resolve("u2.npy");
        Files.write(u, java.util.Arrays.copyOf(raw, raw.length));
        byte[] mod = Files.readAllBytes(u);
        String h = new String(mod, java.nio.charset.StandardCharsets.ISO_8859_1).replace("'<f4'", "'<u2'");
        Files.write(u, h.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        assertMentions(assertThrows(FormatException.class, () -> Npy.read(u)), "u2.npy", "'<u2'");
        Path big = tmp.resolve("hlen.npy");
        byte[] b = java.util.Arrays.copyOf(raw, 12);
        b[6] = 2; b[8] = (byte) 0xFF; b[9] = (byte) 0xFF; b[10] = (byte) 0xFF; b[11] = 0x7F;
        Files.write(big, b);
        assertMentions(assertThrows(FormatException.class, () -> Npy.read(big)), "hlen.npy", "header length 2147483647");
    }

    private static void assertMentions(Exception e, String... fragments) {
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "message '" + e.getMessage() + "' should mention '" + f + "'");
    }
}
