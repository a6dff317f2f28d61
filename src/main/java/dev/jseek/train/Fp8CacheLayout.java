package dev.jseek.train;

import dev.jseek.fp8.TileQuantizer;
import java.util.Map;

/**
 * Where the cached tensors of {@link Fp8Recipe} live in the three {@link ActCache} arenas: E4M3 codes (one byte per
 * element), E5M6 codes (a short each) and float scales (one per 1x128 tile of either). It is the FP8 half of an
 * {@link ActLayout}, apart from the float arenas and their recompute planning: a slot's format comes from the recipe
 * row it caches, and a slot is laid out for {@code rows} rows of {@code cols}.
 */
public final class Fp8CacheLayout {
    private long codes, wide, scales;
    private final Map<String, Long> held;

    /** {@code held}: where each allocation's bytes are recorded (the owning ActLayout's per-name accounting). */
    Fp8CacheLayout(Map<String, Long> held) { this.held = held; }

    /** The cache slot of recipe row {@code r} for a [rows, cols] tensor named {@code name}. */
    public CacheSlot slot(Fp8Recipe r, String name, long rows, int cols) {
        if (!r.cached() || r.tileRows() != 1 || r.tileCols() != TileQuantizer.TILE)
            throw new IllegalArgumentException(r + " is not a cached 1x128-tiled tensor (" + r.storage() + ")");
        long sc = rows * tiles(cols);
        CacheSlot s;
        switch (r.format()) {
            case E4M3 -> {
                s = new CacheSlot((int) codes, (int) scales, cols);
                codes += rows * cols;
                held.merge(name, rows * cols + 4 * sc, Long::sum);
            }
            case E5M6 -> {
                s = new CacheSlot((int) wide, (int) scales, cols);
                wide += rows * cols;
                held.merge(name, 2 * rows * cols + 4 * sc, Long::sum);
            }
            default -> throw new IllegalArgumentException(r + " has no FP8 format");
        }
        scales += sc;
        if (Math.max(codes, Math.max(wide, scales)) > Integer.MAX_VALUE - 16)
            throw new IllegalArgumentException("FP8 activation cache exceeds 2^31 elements at " + name + "; reduce batch size or sequence length");
        return s;
    }

    private static long tiles(int cols) { return (cols + TileQuantizer.TILE - 1) / TileQuantizer.TILE; }

    /** Bytes of E4M3 codes. */
    public long codes() { return codes; }

    /** E5M6 codes (shorts). */
    public long wide() { return wide; }

    /** Float scales. */
    public long scales() { return scales; }

    /** Bytes held: codes, 2 per E5M6 code, 4 per scale. */
    public long bytes() { return codes + 2 * wide + 4 * scales; }

    boolean sameSizes(Fp8CacheLayout o) { return codes == o.codes && wide == o.wide && scales == o.scales; }
}
