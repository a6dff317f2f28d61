package dev.jseek.train;

import dev.jseek.fp8.TileQuantizer;

/**
 * Where one cached activation lives in the {@link ActCache} arenas (report §3.3): a row-major [rows, cols] matrix quantized
 * in 1x128 tiles, its codes from {@code codeOffset} (row r at codeOffset + r*cols) and its scales from
 * {@code scaleOffset} (row r's ceil(cols/128) scales at scaleOffset + r*ceil(cols/128)). Laid out by
 * {@link ActLayout#allocE4m3} / {@link ActLayout#allocE5m6}.
 */
public record CacheSlot(int codeOffset, int scaleOffset, int cols) {
    /** Scales per row: ceil(cols / 128). */
    public int tilesPerRow() { return (cols + TileQuantizer.TILE - 1) / TileQuantizer.TILE; }

    /** Offset of row r's codes. */
    public int code(int r) { return codeOffset + r * cols; }

    /** Offset of row r's first scale. */
    public int scale(int r) { return scaleOffset + r * tilesPerRow(); }
}
