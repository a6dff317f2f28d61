package dev.jseek.data;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A prepared data directory opened for training: the {@link Manifest} and, per split, a {@link TokenStore} over
 * its memory-mapped shards. Every shard is checked on open (header, length, and with {@code verify} the payload and
 * index checksums) and must agree with the manifest. Close it to unmap the shards.
 */
public final class TokenDataset implements AutoCloseable {
    private final Arena arena;
    private final Manifest manifest;
    private final TokenStore train, val;

    private TokenDataset(Arena arena, Manifest manifest, TokenStore train, TokenStore val) {
        this.arena = arena;
        this.manifest = manifest;
        this.train = train;
        this.val = val;
    }

    /** Opens {@code dir} with full checksum verification. */
    public static TokenDataset open(Path dir) throws IOException {
        return open(dir, true);
    }

    public static TokenDataset open(Path dir, boolean verify) throws IOException {
        Manifest m = Manifest.read(dir);
        Arena arena = Arena.ofShared();
        try {
            TokenStore train = store(dir, m, Split.TRAIN, arena, verify);
            TokenStore val = store(dir, m, Split.VAL, arena, verify);
            return new TokenDataset(arena, m, train, val);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static TokenStore store(Path dir, Manifest m, Split s, Arena arena, boolean verify) throws IOException {
        List<Shard> shards = new ArrayList<>();
        for (Manifest.ShardInfo info : m.split(s).shards()) {
            Path f = dir.resolve(info.file());
            Shard sh = Shard.open(f, arena, verify);
            ShardHeader h = sh.header();
            if (h.tokenCount() != info.tokens() || h.docCount() != info.documents() || !DataPreparer.hex(h.configHash()).equals(m.configHash()))
                throw new DataFormatException("shard " + f + " does not match " + dir.resolve(Manifest.FILE) + ": shard has " + h.tokenCount()
                        + " tokens, " + h.docCount() + " documents, config " + DataPreparer.hex(h.configHash()) + "; manifest says "
                        + info.tokens() + ", " + info.documents() + ", " + m.configHash());
            if (info.textBytes() != null && info.textBytes() != h.textBytes())
                throw new DataFormatException("shard " + f + " records " + h.textBytes() + " text bytes, " + dir.resolve(Manifest.FILE)
                        + " says " + info.textBytes());
            if (h.split() != s) throw new DataFormatException("shard " + f + " holds split " + h.split().fileName + ", manifest lists it under " + s.fileName);
            shards.add(sh);
        }
        return new TokenStore(shards);
    }

    public Manifest manifest() { return manifest; }
    public TokenStore train() { return train; }
    public TokenStore val() { return val; }
    public TokenStore split(Split s) { return s == Split.TRAIN ? train : val; }

    @Override public void close() {
        arena.close();
    }
}
