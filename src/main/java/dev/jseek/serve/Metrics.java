package dev.jseek.serve;

import dev.jseek.infer.BatchEngine;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.Supplier;

/**
 * The server's counters in the Prometheus text exposition format (version 0.0.4), served at {@code GET /metrics}:
 * requests by endpoint and status, prompt and completion tokens, the engine's queue depth, running sequences, last
 * decode batch size, cache blocks in use and in all, prefix-cache reuse, and histograms of the time to first token
 * and the inter-token latency (as the server's request threads see the tokens arrive). Thread-safe.
 */
final class Metrics {
    /** Histogram bucket upper bounds in seconds. */
    static final double[] BUCKETS = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

    static final class Histogram {
        final AtomicLongArray counts = new AtomicLongArray(BUCKETS.length + 1);
        final AtomicLong sumNanos = new AtomicLong();

        void observeNanos(long nanos) {
            double s = nanos / 1e9;
            int i = 0;
            while (i < BUCKETS.length && s > BUCKETS[i]) i++;
            counts.incrementAndGet(i);
            sumNanos.addAndGet(nanos);
        }

        long count() {
            long n = 0;
            for (int i = 0; i < counts.length(); i++) n += counts.get(i);
            return n;
        }
    }

    private final Map<String, AtomicLong> requests = new TreeMap<>();
    private final AtomicLong promptTokens = new AtomicLong(), completionTokens = new AtomicLong();
    final Histogram ttft = new Histogram(), itl = new Histogram();
    private final Supplier<BatchEngine.Stats> engine;

    Metrics(Supplier<BatchEngine.Stats> engine) { this.engine = engine; }

    void request(String endpoint, int status, int prompt, int completion) {
        String key = "endpoint=\"" + endpoint + "\",status=\"" + status + "\"";
        synchronized (requests) {
            requests.computeIfAbsent(key, k -> new AtomicLong()).incrementAndGet();
        }
        if (prompt > 0) promptTokens.addAndGet(prompt);
        if (completion > 0) completionTokens.addAndGet(completion);
    }

    /** Token arrival times of one generation (nanoseconds since it was submitted). */
    void tokenTimes(long[] nanosSinceSubmit) {
        if (nanosSinceSubmit == null || nanosSinceSubmit.length == 0) return;
        ttft.observeNanos(nanosSinceSubmit[0]);
        for (int i = 1; i < nanosSinceSubmit.length; i++) itl.observeNanos(nanosSinceSubmit[i] - nanosSinceSubmit[i - 1]);
    }

    /** The exposition text. */
    String render() {
        StringBuilder sb = new StringBuilder();
        sb.append("# HELP jseek_requests_total HTTP requests answered, by endpoint and status.\n# TYPE jseek_requests_total counter\n");
        synchronized (requests) {
            for (var e : requests.entrySet()) sb.append("jseek_requests_total{").append(e.getKey()).append("} ").append(e.getValue().get()).append('\n');
        }
        counter(sb, "jseek_prompt_tokens_total", "Prompt tokens of answered requests.", promptTokens.get());
        counter(sb, "jseek_completion_tokens_total", "Tokens generated for answered requests.", completionTokens.get());
        BatchEngine.Stats s = engine.get();
        gauge(sb, "jseek_queue_depth", "Requests waiting for a batch slot or cache blocks.", s.queued());
        gauge(sb, "jseek_active_sequences", "Sequences admitted to the batch (prefilling or decoding).", s.active());
        gauge(sb, "jseek_batch_size", "Rows of the last decode step.", s.lastBatch());
        gauge(sb, "jseek_cache_blocks_used", "Latent cache blocks in use (running sequences and the prefix cache).", s.blocksUsed());
        gauge(sb, "jseek_cache_blocks_total", "Latent cache blocks the memory budget allows.", s.blocksTotal());
        gauge(sb, "jseek_cache_block_tokens", "Positions per latent cache block.", s.blockTokens());
        counter(sb, "jseek_engine_tokens_total", "Tokens the engine generated.", s.tokensGenerated());
        counter(sb, "jseek_prompt_tokens_computed_total", "Prompt tokens prefilled.", s.promptTokensComputed());
        counter(sb, "jseek_prompt_tokens_cached_total", "Prompt tokens reused from the prefix cache.", s.promptTokensReused());
        counter(sb, "jseek_decode_steps_total", "Batched decode forwards.", s.decodeSteps());
        counter(sb, "jseek_speculative_drafts_total", "MTP draft tokens proposed (serve --speculative).", s.drafted());
        counter(sb, "jseek_speculative_accepted_total", "MTP draft tokens accepted: a second token from the same forward.", s.accepted());
        histogram(sb, "jseek_time_to_first_token_seconds", "Time from submission to the first token.", ttft);
        histogram(sb, "jseek_inter_token_latency_seconds", "Time between consecutive tokens of a generation.", itl);
        return sb.toString();
    }

    private static void counter(StringBuilder sb, String name, String help, long v) {
        sb.append("# HELP ").append(name).append(' ').append(help).append("\n# TYPE ").append(name).append(" counter\n")
                .append(name).append(' ').append(v).append('\n');
    }

    private static void gauge(StringBuilder sb, String name, String help, long v) {
        sb.append("# HELP ").append(name).append(' ').append(help).append("\n# TYPE ").append(name).append(" gauge\n")
                .append(name).append(' ').append(v).append('\n');
    }

    private static void histogram(StringBuilder sb, String name, String help, Histogram h) {
        sb.append("# HELP ").append(name).append(' ').append(help).append("\n# TYPE ").append(name).append(" histogram\n");
        long cum = 0;
        for (int i = 0; i < BUCKETS.length; i++) {
            cum += h.counts.get(i);
            sb.append(name).append("_bucket{le=\"").append(BUCKETS[i]).append("\"} ").append(cum).append('\n');
        }
        cum += h.counts.get(BUCKETS.length);
        sb.append(name).append("_bucket{le=\"+Inf\"} ").append(cum).append('\n');
        sb.append(name).append("_sum ").append(h.sumNanos.get() / 1e9).append('\n');
        sb.append(name).append("_count ").append(cum).append('\n');
    }
}
