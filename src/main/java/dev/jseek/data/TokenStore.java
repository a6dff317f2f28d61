package dev.jseek.data;

import java.util.Arrays;
import java.util.List;

/**
 * The token stream of one split: its shards concatenated in order, indexed by a global token position
 * {@code 0..size()-1}, with the document starts of all shards. This is the packed pre-training stream of docs/architecture.md §7.2:
 * documents back to back, each ending with EOS, no separators or padding.
 */
public final class TokenStore {
    private final List<Shard> shards;
    private final long[] starts; // starts[i] = global position of shard i's first token; starts[n] = size

    public TokenStore(List<Shard> shards) {
        this.shards = List.copyOf(shards);
        this.starts = new long[shards.size() + 1];
        for (int i = 0; i < shards.size(); i++) starts[i + 1] = starts[i] + shards.get(i).tokenCount();
    }

    public long size() { return starts[starts.length - 1]; }

    public List<Shard> shards() { return shards; }

    private int shardOf(long pos) {
        int i = Arrays.binarySearch(starts, pos);
        if (i < 0) i = -i - 2;
        while (i < shards.size() - 1 && starts[i + 1] == pos) i++; // skip empty shards
        return i;
    }

    /** Token at global position {@code pos}. */
    public int token(long pos) {
        if (pos < 0 || pos >= size()) throw new IndexOutOfBoundsException("token " + pos + " of " + size());
        int s = shardOf(pos);
        return shards.get(s).token(pos - starts[s]);
    }

    /** Copies tokens {@code [from, from + len)} into {@code dst[off..]}, across shard boundaries. */
    public void read(long from, int[] dst, int off, int len) {
        if (from < 0 || len < 0 || from + len > size())
            throw new IndexOutOfBoundsException("tokens [" + from + ", " + (from + len) + ") of " + size());
        while (len > 0) {
            int s = shardOf(from);
            long local = from - starts[s];
            int n = (int) Math.min(len, shards.get(s).tokenCount() - local);
            shards.get(s).read(local, dst, off, n);
            from += n;
            off += n;
            len -= n;
        }
    }

    /**
     * Positions {@code p - from} of the document starts {@code p} in {@code [from, from + len)}, ascending — the
     * document boundaries of a window, for sample masking (docs/architecture.md §7.5).
     */
    public int[] docStartsIn(long from, int len) {
        int[] out = new int[8];
        int n = 0;
        long end = from + len;
        for (int s = shardOf(from); s < shards.size() && starts[s] < end; s++) {
            long[] ds = shards.get(s).docStarts();
            long lo = Math.max(from, starts[s]) - starts[s];
            int i = Arrays.binarySearch(ds, lo);
            if (i < 0) i = -i - 1;
            for (; i < ds.length && ds[i] + starts[s] < end; i++) {
                if (n == out.length) out = Arrays.copyOf(out, n * 2);
                out[n++] = (int) (ds[i] + starts[s] - from);
            }
        }
        return Arrays.copyOf(out, n);
    }
}
