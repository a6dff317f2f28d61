package dev.jseek.data;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * Writes one token shard (format in {@link ShardHeader}) streaming: tokens go to {@code NAME.tmp} through a
 * 1 MiB buffer while their CRC32C accumulates; {@link #finish} appends the document index, writes the header,
 * forces the file to disk and renames it to its final name atomically, so a shard file either is complete or
 * does not exist. Checks every id against the vocabulary.
 */
public final class ShardWriter implements AutoCloseable {
    private final Path target, tmp;
    private final FileChannel ch;
    private final int bpt, vocab, shardIndex;
    private final Split split;
    private final long configHash;
    private final ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
    private final CRC32C payloadCrc = new CRC32C();
    private long[] docStarts = new long[1024];
    private long tokens, docs, firstDoc = -1, lastDoc = -1, textBytes;
    private boolean done, textBytesUnknown;

    public ShardWriter(Path target, Split split, int shardIndex, int vocabSize, long configHash) throws IOException {
        this.target = target;
        this.tmp = target.resolveSibling(target.getFileName() + ".tmp");
        this.split = split;
        this.shardIndex = shardIndex;
        this.vocab = vocabSize;
        this.bpt = ShardHeader.bytesPerToken(vocabSize);
        this.configHash = configHash;
        this.ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
        ch.position(ShardHeader.SIZE);
    }

    public long tokenCount() { return tokens; }
    public long docCount() { return docs; }
    public Path path() { return target; }

    /** UTF-8 bytes of the source text of the documents added so far (0 if any was added without a count). */
    public long textBytes() { return textBytesUnknown ? 0 : textBytes; }

    /**
     * Appends one document's tokens (already ending with EOS) with its corpus index and the UTF-8 byte length of
     * its source text (recorded in the header for bits per byte).
     */
    public void add(int[] ids, long corpusIndex, long textBytes) throws IOException {
        if (textBytes <= 0) throw new IllegalArgumentException("document " + corpusIndex + ": text bytes " + textBytes + " must be > 0");
        addTokens(ids, corpusIndex);
        this.textBytes += textBytes;
    }

    /** Appends one document's tokens (already ending with EOS) with its corpus index; the shard then records no text bytes. */
    public void add(int[] ids, long corpusIndex) throws IOException {
        textBytesUnknown = true;
        addTokens(ids, corpusIndex);
    }

    private void addTokens(int[] ids, long corpusIndex) throws IOException {
        if (docs == docStarts.length) docStarts = java.util.Arrays.copyOf(docStarts, docStarts.length * 2);
        docStarts[(int) docs++] = tokens;
        if (firstDoc < 0) firstDoc = corpusIndex;
        lastDoc = corpusIndex;
        for (int id : ids) {
            if (id < 0 || id >= vocab)
                throw new IllegalStateException("tokenizer produced id " + id + " outside [0, " + vocab + ") in document " + corpusIndex);
            if (buf.remaining() < 4) flush();
            if (bpt == 2) buf.putShort((short) id);
            else buf.putInt(id);
        }
        tokens += ids.length;
    }

    private void flush() throws IOException {
        buf.flip();
        payloadCrc.update(buf.duplicate());
        while (buf.hasRemaining()) ch.write(buf);
        buf.clear();
    }

    /** Completes the file and renames it into place; returns its header. */
    public ShardHeader finish() throws IOException {
        flush();
        CRC32C indexCrc = new CRC32C();
        for (int i = 0; i < docs; i++) {
            if (buf.remaining() < 8) {
                buf.flip();
                indexCrc.update(buf.duplicate());
                while (buf.hasRemaining()) ch.write(buf);
                buf.clear();
            }
            buf.putLong(docStarts[i]);
        }
        buf.flip();
        indexCrc.update(buf.duplicate());
        while (buf.hasRemaining()) ch.write(buf);
        buf.clear();
        ShardHeader h = new ShardHeader(bpt, vocab, split, shardIndex, tokens, docs, firstDoc, lastDoc, configHash,
                (int) payloadCrc.getValue(), (int) indexCrc.getValue(), textBytes());
        ByteBuffer hb = h.encode();
        long pos = 0;
        while (hb.hasRemaining()) pos += ch.write(hb, pos);
        ch.force(true);
        ch.close();
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        done = true;
        return h;
    }

    /** Abandons an unfinished shard: closes and deletes the temp file. No effect after {@link #finish}. */
    @Override public void close() throws IOException {
        if (done) return;
        done = true;
        ch.close();
        Files.deleteIfExists(tmp);
    }
}
