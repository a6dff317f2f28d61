package dev.jseek.data;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * The 96-byte header of a token shard file ({@code train-00000.bin}, {@code val-00000.bin}); all little-endian.
 * <pre>
 *  off size field
 *    0   8  magic "JSEEKTOK"
 *    8   4  version (1)
 *   12   4  bytesPerToken: 2 = uint16 (vocab &lt;= 65536), 4 = uint32
 *   16   4  vocabSize (every token id is below it)
 *   20   4  split (0 train, 1 val)
 *   24   4  shardIndex (NNNNN of the file name)
 *   28   4  reserved (0)
 *   32   8  tokenCount
 *   40   8  docCount
 *   48   8  firstDoc: corpus index of the shard's first document
 *   56   8  lastDoc:  corpus index of the shard's last document
 *   64   8  configHash: fingerprint of corpus spec, tokenizer, seed, FIM rate, val fraction, shard size
 *   72   4  payloadCrc: CRC32C of the token bytes
 *   76   4  indexCrc:   CRC32C of the document index bytes
 *   80   8  textBytes:  UTF-8 bytes of the source text of the shard's documents (before FIM and EOS; for
 *              bits per byte); 0 = not recorded (shards written before this field existed)
 *   88   4  reserved (0)
 *   92   4  headerCrc:  CRC32C of bytes 0..91
 *   96      payload: tokenCount tokens of bytesPerToken bytes
 *           document index: docCount int64 token offsets (within this shard) of each document start
 * </pre>
 * Documents never straddle shards; each ends with EOS. docs/architecture.md §7.2 (document packing happens at load time).
 */
public record ShardHeader(int bytesPerToken, int vocabSize, Split split, int shardIndex, long tokenCount, long docCount,
                          long firstDoc, long lastDoc, long configHash, int payloadCrc, int indexCrc, long textBytes) {
    public static final int SIZE = 96;
    public static final int VERSION = 1;
    private static final byte[] MAGIC = "JSEEKTOK".getBytes(StandardCharsets.US_ASCII);

    /** Bytes per token for a vocabulary: uint16 when every id fits, else uint32. */
    public static int bytesPerToken(int vocabSize) {
        return vocabSize <= 65536 ? 2 : 4;
    }

    /** File name of a shard: {@code train-00003.bin}. */
    public static String fileName(Split split, int index) {
        return String.format("%s-%05d.bin", split.fileName, index);
    }

    public long payloadBytes() { return tokenCount * bytesPerToken; }

    /** Whether the shard records its documents' text bytes ({@link #textBytes()} > 0). */
    public boolean hasTextBytes() { return textBytes > 0; }

    /** Total file length the header implies. */
    public long fileLength() { return SIZE + payloadBytes() + docCount * 8; }

    public ByteBuffer encode() {
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putInt(VERSION).putInt(bytesPerToken).putInt(vocabSize).putInt(split.code).putInt(shardIndex).putInt(0)
                .putLong(tokenCount).putLong(docCount).putLong(firstDoc).putLong(lastDoc).putLong(configHash)
                .putInt(payloadCrc).putInt(indexCrc).putLong(textBytes);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, 92);
        b.putInt(92, (int) crc.getValue());
        b.position(0);
        return b;
    }

    /**
     * Parses and checks a header read from {@code file} of {@code fileLength} bytes: magic, header checksum,
     * version, dtype, and that the length matches; a {@link DataFormatException} names the file and the problem.
     */
    public static ShardHeader decode(Path file, ByteBuffer raw, long fileLength) {
        if (fileLength < SIZE)
            throw new DataFormatException("shard " + file + " is truncated: " + fileLength + " bytes, shorter than the " + SIZE + "-byte header");
        ByteBuffer b = raw.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[8];
        b.get(0, magic);
        if (!Arrays.equals(magic, MAGIC))
            throw new DataFormatException("shard " + file + " is not a jseek token shard: magic is '" + new String(magic, StandardCharsets.ISO_8859_1) + "', expected 'JSEEKTOK'");
        byte[] head = new byte[92];
        b.get(0, head);
        CRC32C crc = new CRC32C();
        crc.update(head);
        int stored = b.getInt(92);
        if ((int) crc.getValue() != stored)
            throw new DataFormatException(String.format("shard %s has a corrupted header: header checksum %08x, computed %08x", file, stored, (int) crc.getValue()));
        int version = b.getInt(8);
        if (version != VERSION) throw new DataFormatException("shard " + file + " has version " + version + "; this jseek reads version " + VERSION);
        int bpt = b.getInt(12), vocab = b.getInt(16);
        if (bpt != 2 && bpt != 4) throw new DataFormatException("shard " + file + ": bytesPerToken is " + bpt + ", expected 2 or 4");
        if (vocab <= 0 || (bpt == 2 && vocab > 65536))
            throw new DataFormatException("shard " + file + ": vocabSize " + vocab + " does not fit bytesPerToken " + bpt);
        int splitCode = b.getInt(20);
        if (splitCode != 0 && splitCode != 1) throw new DataFormatException("shard " + file + ": split is " + splitCode + ", expected 0 (train) or 1 (val)");
        ShardHeader h = new ShardHeader(bpt, vocab, Split.of(splitCode), b.getInt(24), b.getLong(32), b.getLong(40),
                b.getLong(48), b.getLong(56), b.getLong(64), b.getInt(72), b.getInt(76), b.getLong(80));
        if (h.textBytes < 0) throw new DataFormatException("shard " + file + ": textBytes is " + h.textBytes + ", must be >= 0");
        if (h.tokenCount < 0 || h.docCount < 0 || h.docCount > h.tokenCount)
            throw new DataFormatException("shard " + file + ": bad counts tokenCount=" + h.tokenCount + " docCount=" + h.docCount);
        if (fileLength != h.fileLength())
            throw new DataFormatException("shard " + file + " is " + (fileLength < h.fileLength() ? "truncated" : "too long") + ": header says "
                    + h.tokenCount + " tokens and " + h.docCount + " documents = " + h.fileLength() + " bytes, the file has " + fileLength);
        return h;
    }
}
