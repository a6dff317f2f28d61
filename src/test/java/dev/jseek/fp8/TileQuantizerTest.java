package dev.jseek.fp8;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.tensor.Fp8Quantizer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Tile quantization: scales recomputed independently per tile, the stated per-element error bounds, edge tiles,
 * UE8M0 scales, zero tiles, the Wgrad re-quantization, and the weight path against main's Fp8Quantizer.
 */
class TileQuantizerTest {
    static float[] randn(SplittableRandom r, int n, double std) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * std);
        return x;
    }

    /** Data with outliers and a wide dynamic range, so subnormal codes and saturation both occur. */
    static float[] hard(SplittableRandom r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            double v = r.nextGaussian() * Math.pow(2, r.nextInt(-20, 4));
            if (r.nextInt(50) == 0) v *= 1000;
            x[i] = (float) v;
        }
        return x;
    }

    /** Checks scales against an independent per-tile amax and every element against the error bound. */
    static void checkTiles(float[] x, int rows, int cols, int tr, int tc, ScaleFormat fmt, Fp8Tensor q) {
        assertEquals(rows, q.rows());
        assertEquals(cols, q.cols());
        assertEquals(tr, q.tileRows());
        assertEquals(tc, q.tileCols());
        int sr = (rows + tr - 1) / tr, sc = (cols + tc - 1) / tc;
        assertEquals(sr * sc, q.scales().length);
        for (int ti = 0; ti < sr; ti++)
            for (int tj = 0; tj < sc; tj++) {
                double amax = 0;
                for (int r = ti * tr; r < Math.min(rows, ti * tr + tr); r++)
                    for (int c = tj * tc; c < Math.min(cols, tj * tc + tc); c++) amax = Math.max(amax, Math.abs(x[r * cols + c]));
                double s = q.scales()[ti * sc + tj], base = Math.max(amax, 1e-4f) / 448.0;
                if (fmt == ScaleFormat.FP32) {
                    assertEquals((float) (Math.max((float) amax, 1e-4f) / 448f), (float) s, 0f, "tile " + ti + "," + tj);
                    assertEquals(base, s, base * 0x1p-23);
                } else {
                    assertEquals(0, Math.getExponent(s) - Math.log(s) / Math.log(2), 0.0, "power of two");
                    assertTrue(s >= base * (1 - 0x1p-23) && s < 2 * base, "tile " + ti + "," + tj + ": scale " + s + " for amax " + amax);
                }
            }
        float[] d = q.dequantize();
        for (int rr = 0; rr < rows; rr++)
            for (int cc = 0; cc < cols; cc++) {
                int r = rr, c = cc, i = r * cols + c;
                double s = q.scaleAt(r, c), xv = x[i], err = Math.abs(d[i] - xv), y = Math.abs(xv) / s;
                assertEquals(d[i], q.get(r, c), 0f);
                double bound = y >= 0x1p-6 ? (0x1p-4 + 0x1p-21) * Math.abs(xv) : 0x1p-10 * s * (1 + 0x1p-10);
                assertTrue(err <= bound, () -> "element [" + r + ", " + c + "] = " + xv + " -> " + d[i] + ", error " + err + " > bound " + bound);
                if (fmt == ScaleFormat.UE8M0) {
                    // power-of-two scale: x / s and decode * s are exact, so the error is exactly E4M3's rounding
                    assertEquals(E4m3.decode(E4m3.encode((float) (xv / s))) * s, d[i], 0.0);
                    assertTrue(Math.abs(xv) / s <= 448, "no saturation with UE8M0");
                }
            }
    }

    @Test
    void activationTilesRoundTripWithinBoundsIncludingEdgeTiles() {
        SplittableRandom r = new SplittableRandom(1);
        for (ScaleFormat fmt : ScaleFormat.values())
            for (int[] shape : new int[][] {{5, 256}, {3, 200}, {7, 100}, {1, 1}, {4, 129}}) {
                float[] x = hard(r, shape[0] * shape[1]);
                checkTiles(x, shape[0], shape[1], 1, 128, fmt, TileQuantizer.activation(x, shape[0], shape[1], fmt));
            }
    }

    @Test
    void weightBlocksRoundTripWithinBoundsIncludingEdgeBlocks() {
        SplittableRandom r = new SplittableRandom(2);
        for (ScaleFormat fmt : ScaleFormat.values())
            for (int[] shape : new int[][] {{256, 128}, {200, 300}, {130, 64}}) {
                float[] x = hard(r, shape[0] * shape[1]);
                checkTiles(x, shape[0], shape[1], 128, 128, fmt, TileQuantizer.weight(x, shape[0], shape[1], fmt));
            }
    }

    @Test
    void columnTilesRoundTripWithinBounds() {
        SplittableRandom r = new SplittableRandom(3);
        for (ScaleFormat fmt : ScaleFormat.values()) {
            float[] x = hard(r, 300 * 40);
            checkTiles(x, 300, 40, 128, 1, fmt, TileQuantizer.quantize(x, 0, 300, 40, 128, 1, fmt));
        }
    }

    @Test
    void theTileMaximumMapsTo448AndFullRangeIsUsed() {
        SplittableRandom r = new SplittableRandom(4);
        float[] x = randn(r, 8 * 256, 3.0);
        Fp8Tensor q = TileQuantizer.activation(x, 8, 256, ScaleFormat.FP32);
        for (int row = 0; row < 8; row++)
            for (int t = 0; t < 2; t++) {
                int maxCode = 0;
                for (int c = t * 128; c < t * 128 + 128; c++) maxCode = Math.max(maxCode, q.codes()[row * 256 + c] & 0x7F);
                assertEquals(0x7E, maxCode, "row " + row + " tile " + t);
            }
    }

    @Test
    void zeroTilesGetTheFloorScaleZeroCodesAndNoNaN() {
        float[] x = new float[4 * 256];
        for (int c = 128; c < 256; c++) x[256 + c] = 0.5f;                 // one non-zero tile in row 1
        x[3 * 256 + 5] = 1e-6f;                                             // below the amax floor
        for (ScaleFormat fmt : ScaleFormat.values()) {
            Fp8Tensor q = TileQuantizer.activation(x, 4, 256, fmt);
            assertEquals(fmt.scale(0f), q.scales()[0]);
            assertEquals(fmt == ScaleFormat.FP32 ? 1e-4f / 448f : 0x1p-22f, q.scales()[0]);
            for (float v : q.dequantize()) assertTrue(Float.isFinite(v));
            for (int c = 0; c < 128; c++) assertEquals(0, q.codes()[c]);
            assertEquals(0.5f, q.get(1, 200), 0.5f * 0x1p-4);
            assertEquals(1e-6f, q.get(3, 5), 1e-6f * 0x1p-4);               // floor scale: 1e-6 / (1e-4/448) = 4.48 in range
        }
    }

    @Test
    void ue8m0ScaleRoundsUpToAPowerOfTwo() {
        assertEquals(1f, ScaleFormat.UE8M0.scale(448f));                    // exact power of two stays
        assertEquals(2f, ScaleFormat.UE8M0.scale(449f));
        assertEquals(0.5f, ScaleFormat.UE8M0.scale(200f));                 // 200/448 = 0.446 -> 0.5
        assertEquals(448f / 448f, ScaleFormat.FP32.scale(448f));
    }

    @Test
    void weightQuantizationMatchesMainsFp8QuantizerBitForBit() {
        SplittableRandom r = new SplittableRandom(5);
        float[] w = hard(r, 300 * 200);
        Fp8Quantizer.Quantized want = Fp8Quantizer.quantize(w, 300, 200);
        Fp8Tensor got = TileQuantizer.weight(w, 300, 200, ScaleFormat.FP32);
        assertArrayEquals(want.codes(), got.codes());
        assertArrayEquals(want.scaleInv(), got.scales());
    }

    @Test
    void transposeKeepsEveryValueAndSwapsTheTiles() {
        SplittableRandom r = new SplittableRandom(6);
        float[] x = hard(r, 300 * 70);
        Fp8Tensor q = TileQuantizer.quantize(x, 0, 300, 70, 128, 1, ScaleFormat.FP32);
        Fp8Tensor t = q.transpose();
        assertEquals(70, t.rows());
        assertEquals(300, t.cols());
        assertTrue(t.rowTiled(128));
        for (int i = 0; i < 300; i++)
            for (int j = 0; j < 70; j++) assertEquals(q.get(i, j), t.get(j, i), 0f);
        assertArrayEquals(q.codes(), t.transpose().codes());
        assertArrayEquals(q.scales(), t.transpose().scales());
    }

    @Test
    void wgradOperandIsTheColumnTiledRequantizationOfTheDequantizedActivation() {
        SplittableRandom r = new SplittableRandom(8);
        int tokens = 300, ch = 200;                                         // both not multiples of 128
        float[] x = hard(r, tokens * ch);
        for (ScaleFormat fmt : ScaleFormat.values()) {
            Fp8Tensor act = TileQuantizer.activation(x, tokens, ch, fmt);
            Fp8Tensor w = TileQuantizer.wgradOperand(act, fmt);
            Fp8Tensor want = TileQuantizer.quantize(act.dequantize(), 0, tokens, ch, 128, 1, fmt).transpose();
            assertEquals(ch, w.rows());
            assertEquals(tokens, w.cols());
            assertTrue(w.rowTiled(128));
            assertArrayEquals(want.codes(), w.codes());
            assertArrayEquals(want.scales(), w.scales());
            // the round trip of the dequantized activation obeys the bounds in its 128x1 tiles
            checkTiles(act.dequantize(), tokens, ch, 128, 1, fmt, w.transpose());
        }
    }

    @Test
    void badInputIsRejectedWithItsPosition() {
        float[] x = new float[2 * 130];
        x[130 + 129] = Float.NaN;
        var e = assertThrows(IllegalArgumentException.class, () -> TileQuantizer.activation(x, 2, 130, ScaleFormat.FP32));
        assertTrue(e.getMessage().contains("[1, 129]"), e.getMessage());
        x[130 + 129] = Float.NEGATIVE_INFINITY;
        e = assertThrows(IllegalArgumentException.class, () -> TileQuantizer.weight(x, 2, 130, ScaleFormat.UE8M0));
        assertTrue(e.getMessage().contains("-Infinity at [1, 129]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TileQuantizer.activation(x, 3, 130, ScaleFormat.FP32));
        assertThrows(IllegalArgumentException.class, () -> new Fp8Tensor(2, 130, 1, 128, new byte[260], new float[3]));
        assertThrows(IllegalArgumentException.class, () -> TileQuantizer.wgradOperand(TileQuantizer.weight(new float[4], 2, 2, ScaleFormat.FP32), ScaleFormat.FP32));
    }
}
