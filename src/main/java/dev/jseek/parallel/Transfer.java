package dev.jseek.parallel;

import java.lang.foreign.MemorySegment;

/**
 * One point-to-point transfer of a batch posted with {@link Communicator#exchange}: send {@code count} elements of
 * {@code buf} to {@code peer}, or receive them from {@code peer}, matched by {@code tag}. Like DualPipe's
 * {@code batch_isend_irecv}, every transfer of a step is posted at once, so the order of sends and receives inside a
 * batch cannot deadlock. A receive must name exactly the count the peer sends.
 */
public record Transfer(boolean send, int peer, int tag, MemorySegment buf, int count, ElemType type) {
    public Transfer {
        if (peer < 0) throw new IllegalArgumentException("transfer peer must be >= 0, got " + peer);
        if (tag < 0 || tag > 32767) throw new IllegalArgumentException("transfer tag must be in 0..32767, got " + tag);
        if (count < 0) throw new IllegalArgumentException("transfer count must be >= 0, got " + count);
        if (buf.byteSize() < (long) count * type.bytes())
            throw new IllegalArgumentException("transfer buffer of " + buf.byteSize() + " bytes holds fewer than " + count + " " + type);
    }

    public static Transfer send(int peer, int tag, MemorySegment buf, int count, ElemType type) {
        return new Transfer(true, peer, tag, buf, count, type);
    }

    public static Transfer recv(int peer, int tag, MemorySegment buf, int count, ElemType type) {
        return new Transfer(false, peer, tag, buf, count, type);
    }

    public static Transfer send(int peer, int tag, float[] a, int off, int count) {
        return send(peer, tag, Communicator.floats(a, off, count), count, ElemType.FLOAT);
    }

    public static Transfer recv(int peer, int tag, float[] a, int off, int count) {
        return recv(peer, tag, Communicator.floats(a, off, count), count, ElemType.FLOAT);
    }

    public long bytes() { return (long) count * type.bytes(); }
}
