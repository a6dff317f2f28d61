package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.parallel.ThreadRanks;
import dev.jseek.tensor.Bf16;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The BF16 exchanges of FP8 expert parallel (report §3.3.3), which carry the backward: {@link ExpertParallel#dispatchBf16}
 * (the output gradients to the experts' owners) and {@link ExpertParallel#combineBf16} (the input gradients back).
 * Oracle: the FP32 {@link ExpertParallel#dispatch} / {@link ExpertParallel#combine} of the same rows on the same plan,
 * each element then rounded to nearest-even BF16 by the scalar {@link Bf16#round}: equal bit for bit, on 3 thread
 * ranks with uneven rows per expert (some zero) and a row width that is not a multiple of the vector length. The
 * payload is 2 bytes per element.
 */
class ExpertParallelBf16Test {
    static final int RANKS = 3, EXPERTS = 6, DIM = 37;

    @Test void bf16DispatchAndCombineEqualTheFp32ExchangesRounded() {
        List<String> fails = ThreadRanks.run(RANKS, 60_000_000_000L, c -> {
            int r = c.rank();
            ExpertParallel ep = new ExpertParallel(c, RANKS, EXPERTS, DIM);
            int[] start = new int[EXPERTS + 1];
            for (int e = 0; e < EXPERTS; e++) start[e + 1] = start[e] + (r + 2 * e) % 4;   // 0..3 rows per expert
            ep.plan(start);
            int sent = ep.sent(), got = ep.received();
            SplittableRandom rnd = new SplittableRandom(17 + r);
            float[] src = new float[sent * DIM + 5], local = new float[got * DIM + 3];
            for (int i = 0; i < src.length; i++) src[i] = (float) (rnd.nextGaussian() * Math.pow(2, rnd.nextInt(-20, 20)));
            for (int i = 0; i < local.length; i++) local[i] = (float) (rnd.nextGaussian() * Math.pow(2, rnd.nextInt(-20, 20)));
            int[] order = new int[sent];                        // a row permutation, as the layer's token index
            for (int i = 0; i < sent; i++) order[i] = sent - 1 - i;
            // dispatch: BF16 vs FP32 then rounded
            float[] want = new float[got * DIM + 2], have = new float[got * DIM + 2];
            ep.dispatch(src, i -> order[i], 5, want, 2);
            ep.dispatchBf16(src, i -> order[i], 5, have, 2);
            StringBuilder f = new StringBuilder();
            for (int i = 2; i < want.length; i++)
                if (Float.floatToRawIntBits(Bf16.round(want[i])) != Float.floatToRawIntBits(have[i])) { f.append("rank ").append(r).append(" dispatch element ").append(i).append('\n'); break; }
            if (ep.lastGradDispatchBytes() != 2L * sent * DIM) f.append("rank ").append(r).append(" dispatch bytes ").append(ep.lastGradDispatchBytes()).append('\n');
            // combine: BF16 vs FP32 then rounded
            float[] cw = new float[sent * DIM + 1], ch = new float[sent * DIM + 1];
            ep.combine(local, 3, cw, 1);
            ep.combineBf16(local, 3, ch, 1);
            for (int i = 1; i < cw.length; i++)
                if (Float.floatToRawIntBits(Bf16.round(cw[i])) != Float.floatToRawIntBits(ch[i])) { f.append("rank ").append(r).append(" combine element ").append(i).append('\n'); break; }
            if (ep.lastCombineBytes() != 2L * got * DIM) f.append("rank ").append(r).append(" combine bytes ").append(ep.lastCombineBytes()).append('\n');
            if (sent == 0 || got == 0) f.append("rank ").append(r).append(" moved no rows\n");
            return f.toString();
        });
        assertEquals("", String.join("", fails));
    }
}
