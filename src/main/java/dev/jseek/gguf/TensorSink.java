package dev.jseek.gguf;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;

/**
 * Where a tensor's bytes go while {@link GgufWriter} writes the data section: a buffered little-endian byte stream
 * over the output file that counts what it was given (the writer checks the count against the tensor's size).
 */
public final class TensorSink {
    private final FileChannel ch;
    private final ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
    private long written;

    TensorSink(FileChannel ch) { this.ch = ch; }

    private void room(int n) throws IOException {
        if (buf.remaining() < n) flush();
    }

    void flush() throws IOException {
        buf.flip();
        while (buf.hasRemaining()) ch.write(buf);
        buf.clear();
    }

    /** Bytes put so far (padding included). */
    long written() { return written; }

    public void putByte(byte b) throws IOException { room(1); buf.put(b); written++; }

    public void putShort(short s) throws IOException { room(2); buf.putShort(s); written += 2; }

    public void putFloat(float f) throws IOException { room(4); buf.putFloat(f); written += 4; }

    public void putInt(int v) throws IOException { room(4); buf.putInt(v); written += 4; }

    public void putLong(long v) throws IOException { room(8); buf.putLong(v); written += 8; }

    public void put(byte[] b, int off, int len) throws IOException {
        while (len > 0) {
            room(1);
            int n = Math.min(len, buf.remaining());
            buf.put(b, off, n);
            off += n;
            len -= n;
            written += n;
        }
    }

    /** Copies all bytes of {@code seg}. */
    public void put(MemorySegment seg) throws IOException {
        long off = 0, len = seg.byteSize();
        while (off < len) {
            room(1);
            int n = (int) Math.min(len - off, buf.remaining());
            MemorySegment.ofBuffer(buf).asSlice(0, n).copyFrom(seg.asSlice(off, n));
            buf.position(buf.position() + n);
            off += n;
            written += n;
        }
    }

    /** Encodes n floats of {@code src} from {@code off} as {@code type} (see {@link GgmlCodec#encode}). */
    public void putFloats(GgmlType type, float[] src, int off, int n) throws IOException {
        GgmlCodec.encode(type, src, off, n, this);
    }

    void zeros(long n) throws IOException { for (long i = 0; i < n; i++) putByte((byte) 0); }
}
