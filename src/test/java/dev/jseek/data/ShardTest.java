package dev.jseek.data;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShardTest {
    @TempDir Path tmp;

    static final int[][] DOCS = {{5, 6, 7, 1}, {1}, {65535, 0, 1}, {9, 9, 9, 9, 9, 1}};

    Path write(int vocab, int[][] docs) throws IOException {
        Path f = tmp.resolve(ShardHeader.fileName(Split.TRAIN, 3));
        try (ShardWriter w = new ShardWriter(f, Split.TRAIN, 3, vocab, 0x1234L)) {
            for (int i = 0; i < docs.length; i++) w.add(docs[i], 10 + 2L * i);
            w.finish();
        }
        return f;
    }

    @Test void roundTripUint16WithIndependentlyParsedBytes() throws IOException {
        Path f = write(65536, DOCS);
        assertFalse(Files.exists(tmp.resolve("train-00003.bin.tmp")));
        byte[] raw = Files.readAllBytes(f);
        // parse the file by hand from the documented layout
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals("JSEEKTOK", new String(raw, 0, 8, java.nio.charset.StandardCharsets.US_ASCII));
        assertEquals(1, b.getInt(8));
        assertEquals(2, b.getInt(12));
        assertEquals(65536, b.getInt(16));
        assertEquals(0, b.getInt(20));
        assertEquals(3, b.getInt(24));
        assertEquals(14, b.getLong(32));
        assertEquals(4, b.getLong(40));
        assertEquals(10, b.getLong(48));
        assertEquals(16, b.getLong(56));
        assertEquals(0x1234L, b.getLong(64));
        assertEquals(0, b.getLong(80), "documents added without text bytes: none recorded");
        assertEquals(96 + 14 * 2 + 4 * 8, raw.length);
        int[] flat = {5, 6, 7, 1, 1, 65535, 0, 1, 9, 9, 9, 9, 9, 1};
        for (int i = 0; i < flat.length; i++) assertEquals(flat[i], Short.toUnsignedInt(b.getShort(96 + 2 * i)));
        long[] starts = {0, 4, 5, 8};
        for (int i = 0; i < 4; i++) assertEquals(starts[i], b.getLong(96 + 28 + 8 * i));
        CRC32C crc = new CRC32C();
        crc.update(raw, 96, 28);
        assertEquals((int) crc.getValue(), b.getInt(72));
        crc.reset();
        crc.update(raw, 0, 92);
        assertEquals((int) crc.getValue(), b.getInt(92));

        try (Arena a = Arena.ofConfined()) {
            Shard s = Shard.open(f, a, true);
            assertEquals(14, s.tokenCount());
            assertArrayEquals(starts, s.docStarts());
            int[] got = new int[14];
            s.read(0, got, 0, 14);
            assertArrayEquals(flat, got);
            assertEquals(65535, s.token(5));
            int[] part = new int[3];
            s.read(4, part, 0, 3);
            assertArrayEquals(new int[] {1, 65535, 0}, part);
        }
    }

    @Test void textBytesAreRecordedInTheHeader() throws IOException {
        Path f = tmp.resolve(ShardHeader.fileName(Split.VAL, 0));
        try (ShardWriter w = new ShardWriter(f, Split.VAL, 0, 260, 7)) {
            w.add(new int[] {1, 2, 256}, 0, 2);
            w.add(new int[] {3, 256}, 4, 1);
            w.finish();
        }
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(3, b.getLong(80));
        assertEquals(3, Shard.verify(f).textBytes());
        assertTrue(Shard.verify(f).hasTextBytes());
    }

    @Test void roundTripUint32() throws IOException {
        int[][] docs = {{70000, 129279, 1}, {128801, 5, 128800, 6, 128802, 7, 1}};
        Path f = write(129280, docs);
        assertEquals(96 + 10 * 4 + 2 * 8, Files.size(f));
        try (Arena a = Arena.ofConfined()) {
            Shard s = Shard.open(f, a, true);
            assertEquals(4, s.header().bytesPerToken());
            int[] got = new int[10];
            s.read(0, got, 0, 10);
            assertArrayEquals(new int[] {70000, 129279, 1, 128801, 5, 128800, 6, 128802, 7, 1}, got);
        }
    }

    @Test void idOutsideVocabularyIsRejected() throws IOException {
        Path f = tmp.resolve("train-00000.bin");
        try (ShardWriter w = new ShardWriter(f, Split.TRAIN, 0, 260, 0)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> w.add(new int[] {1, 260}, 4));
            assertTrue(e.getMessage().contains("260") && e.getMessage().contains("document 4"), e.getMessage());
        }
        assertFalse(Files.exists(f));
        assertFalse(Files.exists(tmp.resolve("train-00000.bin.tmp")), "close() without finish removes the temp file");
    }

    private String openError(Path f) {
        DataFormatException e = assertThrows(DataFormatException.class, () -> Shard.verify(f));
        assertTrue(e.getMessage().contains(f.toString()), "message names the file: " + e.getMessage());
        return e.getMessage();
    }

    private static void flip(Path f, long pos) throws IOException {
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
            r.seek(pos);
            int v = r.read();
            r.seek(pos);
            r.write(v ^ 0x10);
        }
    }

    private static void truncate(Path f, long len) throws IOException {
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
            r.setLength(len);
        }
    }

    @Test void truncationIsDetected() throws IOException {
        Path f = write(65536, DOCS);
        long len = Files.size(f);
        truncate(f, len - 1);
        String m = openError(f);
        assertTrue(m.contains("truncated") && m.contains(len + " bytes") && m.contains("has " + (len - 1)), m);
        truncate(f, 50);
        m = openError(f);
        assertTrue(m.contains("truncated") && m.contains("50 bytes"), m);
        truncate(f, 0);
        assertTrue(openError(f).contains("truncated"));
    }

    @Test void extraBytesAreDetected() throws IOException {
        Path f = write(65536, DOCS);
        Files.write(f, new byte[] {0}, java.nio.file.StandardOpenOption.APPEND);
        assertTrue(openError(f).contains("too long"));
    }

    @Test void flippedBytesAreDetected() throws IOException {
        Path f = write(65536, DOCS);
        byte[] good = Files.readAllBytes(f);
        flip(f, 100); // payload
        assertTrue(openError(f).contains("corrupted token data"), openError(f));
        Files.write(f, good);
        flip(f, 96 + 28 + 9); // document index
        assertTrue(openError(f).contains("corrupted document index"), openError(f));
        Files.write(f, good);
        flip(f, 33); // token count in the header
        assertTrue(openError(f).contains("corrupted header"), openError(f));
        Files.write(f, good);
        flip(f, 2); // magic
        assertTrue(openError(f).contains("not a jseek token shard"), openError(f));
        Files.write(f, good);
        assertEquals(14, Shard.verify(f).tokenCount());
    }

    @Test void missingShardIsNamed() {
        Path f = tmp.resolve("val-00009.bin");
        Exception e = assertThrows(java.nio.file.NoSuchFileException.class, () -> Shard.verify(f));
        assertTrue(e.getMessage().contains("val-00009.bin"));
    }
}
