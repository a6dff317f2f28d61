package dev.jseek.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

/**
 * A load generator for any OpenAI-compatible server ({@code jseek bench serve}): C concurrent clients each send
 * streaming {@code /v1/completions} requests one after another (the same prompt ids, greedy, a fixed max_tokens)
 * and time what arrives: aggregate output tokens/s (completion tokens from the usage chunk over the wall time of
 * the level), time to first token and inter-token latency (between streamed chunks) percentiles.
 */
public final class ServeBench {
    private ServeBench() {}

    /** The measurements of one concurrency level. */
    public record Level(int clients, int requests, long completionTokens, double seconds, double tokensPerSecond,
                        double ttftP50Ms, double ttftP99Ms, double itlP50Ms, double itlP99Ms, int errors) {}

    private record One(long tokens, double ttftMs, List<Double> itlMs, boolean ok) {}

    /**
     * Runs {@code clients} clients with {@code perClient} requests each against {@code baseUrl} (e.g.
     * http://127.0.0.1:8000). {@code model} goes in the request's model field.
     */
    public static Level run(String baseUrl, String model, int clients, int perClient, int[] prompt, int maxTokens)
            throws InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        ObjectNode body = RequestFields.JSON.createObjectNode().put("model", model).put("max_tokens", maxTokens)
                .put("temperature", 0).put("stream", true);
        body.putObject("stream_options").put("include_usage", true);
        var arr = body.putArray("prompt");
        for (int id : prompt) arr.add(id);
        String json = body.toString();
        List<One> all = Collections.synchronizedList(new ArrayList<>());
        long t0 = System.nanoTime();
        try (ExecutorService ex = Executors.newFixedThreadPool(clients)) {
            List<Future<?>> fs = new ArrayList<>();
            for (int c = 0; c < clients; c++)
                fs.add(ex.submit(() -> {
                    for (int r = 0; r < perClient; r++) all.add(one(http, baseUrl, json));
                    return null;
                }));
            for (Future<?> f : fs) {
                try {
                    f.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    throw new IllegalStateException("bench client failed: " + e.getCause(), e.getCause());
                }
            }
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        long tokens = 0;
        int errors = 0;
        List<Double> ttft = new ArrayList<>(), itl = new ArrayList<>();
        for (One o : all) {
            if (!o.ok) { errors++; continue; }
            tokens += o.tokens;
            ttft.add(o.ttftMs);
            itl.addAll(o.itlMs);
        }
        return new Level(clients, all.size(), tokens, secs, tokens / secs, pct(ttft, 50), pct(ttft, 99), pct(itl, 50),
                pct(itl, 99), errors);
    }

    private static One one(HttpClient http, String baseUrl, String json) {
        long start = System.nanoTime();
        HttpRequest req = HttpRequest.newBuilder(URI.create(baseUrl + "/v1/completions")).timeout(Duration.ofMinutes(10))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json)).build();
        try {
            HttpResponse<Stream<String>> r = http.send(req, HttpResponse.BodyHandlers.ofLines());
            if (r.statusCode() != 200) {
                r.body().close();
                return new One(0, 0, List.of(), false);
            }
            long[] last = {0};
            double[] ttft = {-1};
            long[] tokens = {0};
            List<Double> itl = new ArrayList<>();
            try (Stream<String> lines = r.body()) {
                lines.forEach(line -> {
                    if (!line.startsWith("data: ") || line.equals("data: [DONE]")) return;
                    long now = System.nanoTime();
                    JsonNode j;
                    try {
                        j = RequestFields.JSON.readTree(line.substring(6));
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                    if (j.has("usage") && j.get("usage").has("completion_tokens")) tokens[0] = j.get("usage").get("completion_tokens").asLong();
                    JsonNode c = j.path("choices");
                    if (c.size() == 0 || c.get(0).path("text").asText("").isEmpty()) return;
                    if (ttft[0] < 0) ttft[0] = (now - start) / 1e6;
                    else itl.add((now - last[0]) / 1e6);
                    last[0] = now;
                });
            }
            return new One(tokens[0], Math.max(ttft[0], 0), itl, true);
        } catch (IOException | InterruptedException e) {
            return new One(0, 0, List.of(), false);
        }
    }

    static double pct(List<Double> v, double p) {
        if (v.isEmpty()) return Double.NaN;
        double[] a = v.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(a);
        int i = (int) Math.ceil(p / 100.0 * a.length) - 1;
        return a[Math.max(0, Math.min(a.length - 1, i))];
    }

    /** Peak resident set size of this process in MiB (VmHWM of /proc/self/status), or -1 where unavailable. */
    public static long peakRssMiB() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status")))
                if (l.startsWith("VmHWM:")) return Long.parseLong(l.replaceAll("\\D", "")) / 1024;
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
