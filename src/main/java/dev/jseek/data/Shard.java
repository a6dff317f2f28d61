package dev.jseek.data;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * A token shard opened for reading (format in {@link ShardHeader}): the file is memory-mapped, the header and
 * length are checked on open, and with {@code verify} the payload and index checksums and the index order too;
 * any mismatch is a {@link DataFormatException} naming the file and what is wrong (truncated, corrupted header,
 * corrupted tokens, corrupted index). Tokens are read as unsigned ids.
 */
public final class Shard {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final ShardHeader header;
    private final MemorySegment payload;
    private final long[] docStarts;

    private Shard(Path path, ShardHeader header, MemorySegment payload, long[] docStarts) {
        this.path = path;
        this.header = header;
        this.payload = payload;
        this.docStarts = docStarts;
    }

    /** Opens and checks {@code file}, mapping it into {@code arena} (which owns the mapping's lifetime). */
    public static Shard open(Path file, Arena arena, boolean verify) throws IOException {
        if (!Files.isRegularFile(file)) throw new NoSuchFileException(file.toString(), null, "token shard not found");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long len = ch.size();
            ByteBuffer hb = ByteBuffer.allocate(ShardHeader.SIZE);
            if (len >= ShardHeader.SIZE) {
                while (hb.hasRemaining() && ch.read(hb, hb.position()) >= 0) { /* fill */ }
            }
            ShardHeader h = ShardHeader.decode(file, hb.flip(), len);
            MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, len, arena);
            MemorySegment payload = all.asSlice(ShardHeader.SIZE, h.payloadBytes());
            MemorySegment index = all.asSlice(ShardHeader.SIZE + h.payloadBytes(), h.docCount() * 8);
            if (verify) {
                int crc = crc32c(payload);
                if (crc != h.payloadCrc())
                    throw new DataFormatException(String.format("shard %s has corrupted token data: payload checksum %08x, computed %08x", file, h.payloadCrc(), crc));
                int icrc = crc32c(index);
                if (icrc != h.indexCrc())
                    throw new DataFormatException(String.format("shard %s has a corrupted document index: index checksum %08x, computed %08x", file, h.indexCrc(), icrc));
            }
            if (h.docCount() > Integer.MAX_VALUE - 8)
                throw new DataFormatException("shard " + file + ": " + h.docCount() + " documents, more than one shard may hold");
            long[] starts = new long[(int) h.docCount()];
            MemorySegment.copy(index, I64, 0, starts, 0, starts.length);
            for (int i = 0; i < starts.length; i++) {
                long prev = i == 0 ? -1 : starts[i - 1];
                if (starts[i] <= prev || starts[i] >= h.tokenCount() || (i == 0 && starts[0] != 0))
                    throw new DataFormatException("shard " + file + ": document index entry " + i + " = " + starts[i] + " is out of order or out of range [0, " + h.tokenCount() + ")");
            }
            return new Shard(file, h, payload, starts);
        }
    }

    /** Opens and fully verifies a shard, then unmaps it; returns its header. */
    public static ShardHeader verify(Path file) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            return open(file, arena, true).header();
        }
    }

    static int crc32c(MemorySegment seg) {
        CRC32C crc = new CRC32C();
        long chunk = 1L << 30;
        for (long off = 0; off < seg.byteSize(); off += chunk)
            crc.update(seg.asSlice(off, Math.min(chunk, seg.byteSize() - off)).asByteBuffer());
        return (int) crc.getValue();
    }

    public Path path() { return path; }
    public ShardHeader header() { return header; }
    public long tokenCount() { return header.tokenCount(); }

    /** Token offsets (within this shard) of the document starts, increasing, first 0. Do not modify. */
    public long[] docStarts() { return docStarts; }

    /** Token {@code i} of this shard. */
    public int token(long i) {
        return header.bytesPerToken() == 2 ? Short.toUnsignedInt(payload.get(U16, i * 2)) : payload.get(U32, i * 4);
    }

    /** Copies tokens {@code [from, from + len)} of this shard into {@code dst[off..]}. */
    public void read(long from, int[] dst, int off, int len) {
        if (header.bytesPerToken() == 4) {
            MemorySegment.copy(payload, U32, from * 4, dst, off, len);
        } else {
            long base = from * 2;
            for (int i = 0; i < len; i++) dst[off + i] = Short.toUnsignedInt(payload.get(U16, base + 2L * i));
        }
    }
}
