package dev.jseek.parallel;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.fp8.ScaleFormat;
import dev.jseek.fp8.TileQuantizer;
import dev.jseek.tensor.Bf16;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Dispatch and combine on thread ranks against a direct computation: every rank derives every rank's tokens and
 * routing from (rank, seed), so the rows a rank must receive, and the rank-ordered sums combine must return, are
 * computed with plain loops. FP32, FP8 (codes and scales equal to quantizing the source rows) and BF16 combine.
 */
class TokenDispatchTest {
    static final int HIDDEN = 160, TOKENS = 13, TOPK = 3, PER_RANK = 4;

    static float[] x(int rank) {
        float[] x = new float[TOKENS * HIDDEN];
        for (int i = 0; i < x.length; i++) x[i] = CommChecks.x(rank, i, 3);
        return x;
    }

    static int[] route(int rank, int experts) {
        Random r = new Random(rank * 31 + 5);
        int[] e = new int[TOKENS * TOPK];
        for (int t = 0; t < TOKENS; t++) {
            List<Integer> all = new ArrayList<>();
            for (int i = 0; i < experts; i++) all.add(i);
            java.util.Collections.shuffle(all, r);
            for (int j = 0; j < TOPK; j++) e[t * TOPK + j] = all.get(j);
        }
        return e;
    }

    static boolean hits(int[] e, int t, int rank) {
        for (int j = 0; j < TOPK; j++) if (e[t * TOPK + j] / PER_RANK == rank) return true;
        return false;
    }

    @Test void dispatchAndCombineMatchTheDirectComputation() {
        for (int n : new int[] {1, 2, 4}) {
            int experts = n * PER_RANK;
            ThreadRanks.run(n, TimeUnit.SECONDS.toNanos(60), c -> {
                int me = c.rank();
                TokenDispatch d = new TokenDispatch(c, HIDDEN, PER_RANK);
                float[] x = x(me);
                d.plan(TOKENS, TOPK, route(me, experts));
                // expected rows: sources in rank order, their tokens ascending
                List<float[]> want = new ArrayList<>();
                for (int s = 0; s < n; s++) {
                    float[] xs = x(s);
                    int[] es = route(s, experts);
                    for (int t = 0; t < TOKENS; t++) if (hits(es, t, me)) want.add(java.util.Arrays.copyOfRange(xs, t * HIDDEN, (t + 1) * HIDDEN));
                }
                assertEquals(want.size(), d.received());
                float[] recv = new float[d.received() * HIDDEN];
                d.dispatch(x, recv);
                for (int i = 0; i < want.size(); i++)
                    assertArrayEquals(want.get(i), java.util.Arrays.copyOfRange(recv, i * HIDDEN, (i + 1) * HIDDEN), "rank " + me + " row " + i);
                // FP8: codes and scales of the source rows
                int nt = 2;
                byte[] codes = new byte[d.received() * HIDDEN];
                float[] scales = new float[d.received() * nt];
                byte[] q0 = new byte[TOKENS * HIDDEN];
                float[] s0 = new float[TOKENS * nt];
                TileQuantizer.quantizeRowsInto(x, 0, TOKENS, HIDDEN, ScaleFormat.FP32, q0, 0, s0, 0);
                d.dispatchFp8(q0, s0, codes, scales);
                for (int i = 0; i < want.size(); i++) {
                    byte[] q = new byte[HIDDEN];
                    float[] sc = new float[nt];
                    TileQuantizer.quantizeRowsInto(want.get(i), 0, 1, HIDDEN, ScaleFormat.FP32, q, 0, sc, 0);
                    assertArrayEquals(q, java.util.Arrays.copyOfRange(codes, i * HIDDEN, (i + 1) * HIDDEN));
                    assertArrayEquals(sc, java.util.Arrays.copyOfRange(scales, i * nt, (i + 1) * nt));
                }
                // combine: rank d's "experts" return (d + 1) x; the source adds the returns in rank order
                float[] y = recv.clone();
                for (int i = 0; i < y.length; i++) y[i] *= me + 1;
                float[] out = new float[TOKENS * HIDDEN], outBf = new float[TOKENS * HIDDEN];
                d.combine(y, out);
                d.combineBf16(y, outBf);
                int[] es = route(me, experts);
                for (int t = 0; t < TOKENS; t++)
                    for (int h = 0; h < HIDDEN; h++) {
                        float e = 0, eb = 0;
                        for (int r = 0; r < n; r++)
                            if (hits(es, t, r)) {
                                e += x[t * HIDDEN + h] * (r + 1);
                                eb += Bf16.toFloat(Bf16.fromFloat(x[t * HIDDEN + h] * (r + 1)));
                            }
                        if (Float.floatToRawIntBits(e) != Float.floatToRawIntBits(out[t * HIDDEN + h])
                                || Float.floatToRawIntBits(eb) != Float.floatToRawIntBits(outBf[t * HIDDEN + h]))
                            fail("rank " + me + " token " + t + " h " + h + ": " + out[t * HIDDEN + h] + " / " + outBf[t * HIDDEN + h] + ", want " + e + " / " + eb);
                    }
                return null;
            });
        }
    }
}
