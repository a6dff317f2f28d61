package dev.jseek.bench;

import dev.jseek.infer.BatchEngine;
import dev.jseek.infer.Generation;
import dev.jseek.infer.GenerationRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * The work of one {@code llama-batched-bench} line on jseek's serving engine: B sequences, each with its own prompt
 * of PP random tokens, submitted together, greedy, TG + 1 new tokens each (the first comes from the prefill, as
 * llama.cpp's prompt batch gives the first logits; TG decode forwards follow). Reported: the total time, and the
 * aggregate decode speed once every sequence has its first token (the engine interleaves prefill chunks with decode
 * steps, so some tokens come earlier; they are not counted, and the last steps run fewer sequences as the early
 * ones finish).
 */
public final class EngineBatchBench {
    private EngineBatchBench() {}

    /**
     * @param firstTokenSeconds until every sequence had its first token
     * @param seconds           until every sequence ended
     * @param decodeTokensPerSecond tokens after {@code firstTokenSeconds} over the time after it
     */
    public record Row(int pl, int pp, int tg, double firstTokenSeconds, double seconds, double decodeTokensPerSecond, long tokens) {}

    public static Row run(BatchEngine engine, int vocab, int pp, int tg, int pl, long seed) throws InterruptedException {
        Random r = new Random(seed);
        List<Generation> gs = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < pl; i++) {
            int[] prompt = new int[pp];
            for (int k = 0; k < pp; k++) prompt[k] = r.nextInt(vocab);
            gs.add(engine.submit(GenerationRequest.greedy(prompt, tg + 1)));
        }
        // events queue in each Generation and are timed when read. The reader blocks on the first unfinished sequence
        // until its next event arrives, then drains every sequence without waiting: all sequences of a step get their
        // tokens together, so it wakes about once per step. (It used to sleep 200 us between polls, some 60 wake-ups per
        // 15 ms step of the 1.5B model; the two readers measured alike, docs/serving.md "Measuring the engine".)
        long[][] times = new long[pl][tg + 1];
        long end = t0;
        int[] n = new int[pl];
        boolean[] done = new boolean[pl];
        int left = pl;
        while (left > 0) {
            int wait = 0;
            while (done[wait]) wait++;
            for (int i = 0; i < pl; i++) {
                if (done[i]) continue;
                Generation.Event e;
                boolean block = i == wait;
                while ((e = block ? gs.get(i).poll(1, TimeUnit.SECONDS) : gs.get(i).poll(0, TimeUnit.NANOSECONDS)) != null) {
                    block = false;
                    long now = System.nanoTime();
                    if (e instanceof Generation.Token) {
                        if (n[i] < times[i].length) times[i][n[i]] = now;
                        n[i]++;
                    } else {
                        Generation.End x = (Generation.End) e;
                        if (x.error() != null) throw x.error();
                        done[i] = true;
                        left--;
                        end = Math.max(end, now);
                        break;
                    }
                }
            }
        }
        long first = t0, tokens = 0;
        for (int i = 0; i < pl; i++) first = Math.max(first, n[i] > 0 ? times[i][0] : end);
        long after = 0;
        for (int i = 0; i < pl; i++) {
            tokens += n[i];
            for (int k = 0; k < Math.min(n[i], times[i].length); k++) if (times[i][k] > first) after++;
        }
        double tFirst = (first - t0) / 1e9, t = (end - t0) / 1e9;
        return new Row(pl, pp, tg, tFirst, t, t > tFirst ? after / (t - tFirst) : Double.NaN, tokens);
    }
}
