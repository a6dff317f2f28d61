package dev.jseek.serve;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jseek.infer.EngineOptions;
import dev.jseek.infer.Sampler;
import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.tokenizer.ChatTemplate;
import dev.jseek.tokenizer.Message;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server under concurrency: simultaneous requests each get their oracle answer (Generator alone), n > 1
 * choices equal n separately seeded oracles, logprobs equal a double-precision log-softmax of the model's logits,
 * /metrics counts what happened, and a full queue answers 429 with Retry-After.
 */
@Timeout(120)
class BatchServingTest {
    @TempDir static Path tmp;
    static TestServer s;

    @BeforeAll static void start() throws Exception {
        TestServer.buildModel(tmp, 41);
        s = new TestServer(tmp, new SamplingParams.Defaults(16, 0.6f));
    }

    @AfterAll static void stop() { if (s != null) s.close(); }

    static String chat(String user, int max, String extra) {
        return "{\"messages\":[{\"role\":\"user\",\"content\":\"" + user + "\"}],\"max_tokens\":" + max + extra + "}";
    }

    @Test void concurrentRequestsEachGetTheirAloneAnswer() throws Exception {
        String[] users = {"hello", "the model reads a token", "cache", "Java code int return value", "world", "stream of text"};
        List<Future<HttpResponse<String>>> fs = new ArrayList<>();
        try (ExecutorService ex = Executors.newFixedThreadPool(users.length)) {
            for (int i = 0; i < users.length; i++) {
                String extra = i % 2 == 0 ? ",\"temperature\":0" : ",\"temperature\":0.9,\"seed\":" + (100 + i);
                String body = chat(users[i], 10 + 3 * i, extra + (i == 3 ? ",\"stream\":true" : ""));
                fs.add(ex.submit(() -> s.post("/v1/chat/completions", body)));
            }
            for (int i = 0; i < users.length; i++) {
                HttpResponse<String> r = fs.get(i).get();
                assertEquals(200, r.statusCode(), r.body());
                Sampler sm = i % 2 == 0 ? Sampler.greedy() : new Sampler(0.9f, 0, 1f, 100 + i);
                TestServer.Expected e = s.oracle(ChatTemplate.encode(s.tokenizer, List.of(Message.user(users[i])), true), 10 + 3 * i, sm);
                String text;
                if (i == 3) {
                    StringBuilder sb = new StringBuilder();
                    for (JsonNode ev : TestServer.sseEvents(r.body())) {
                        JsonNode c = ev.get("choices");
                        if (c.size() > 0 && c.get(0).get("delta").has("content")) sb.append(c.get(0).get("delta").get("content").asText());
                    }
                    text = sb.toString();
                } else {
                    text = TestServer.json(r).get("choices").get(0).get("message").get("content").asText();
                }
                assertEquals(e.text(), text, "request " + i);
            }
        }
        String m = s.get("/metrics").body();
        assertTrue(m.contains("jseek_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"}"), m);
        assertTrue(m.matches("(?s).*\\njseek_cache_blocks_total \\d+\\n.*"), m);
        assertTrue(m.matches("(?s).*\\njseek_time_to_first_token_seconds_count [1-9]\\d*\\n.*"), m);
        assertTrue(m.matches("(?s).*\\njseek_inter_token_latency_seconds_bucket\\{le=\"\\+Inf\"} [1-9]\\d*\\n.*"), m);
        assertTrue(m.contains("# TYPE jseek_queue_depth gauge"), m);
    }

    @Test void nChoicesAreSeparatelySeededSequences() throws Exception {
        HttpResponse<String> r = s.post("/v1/chat/completions", chat("hello world", 12, ",\"temperature\":1.0,\"seed\":7,\"n\":3"));
        assertEquals(200, r.statusCode(), r.body());
        JsonNode j = TestServer.json(r);
        int[] prompt = ChatTemplate.encode(s.tokenizer, List.of(Message.user("hello world")), true);
        int total = 0;
        for (int i = 0; i < 3; i++) {
            TestServer.Expected e = s.oracle(prompt, 12, new Sampler(1.0f, 0, 1f, 7 + i));
            assertEquals(i, j.get("choices").get(i).get("index").asInt());
            assertEquals(e.text(), j.get("choices").get(i).get("message").get("content").asText(), "choice " + i);
            total += e.tokens().length;
        }
        assertEquals(total, j.get("usage").get("completion_tokens").asInt());
        assertEquals(prompt.length, j.get("usage").get("prompt_tokens").asInt());
    }

    @Test void logprobsAreTheModelsLogSoftmax() throws Exception {
        HttpResponse<String> r = s.post("/v1/chat/completions", chat("hello world", 5, ",\"temperature\":0,\"logprobs\":true,\"top_logprobs\":3"));
        assertEquals(200, r.statusCode(), r.body());
        JsonNode content = TestServer.json(r).get("choices").get(0).get("logprobs").get("content");
        int[] prompt = ChatTemplate.encode(s.tokenizer, List.of(Message.user("hello world")), true);
        TestServer.Expected e = s.oracle(prompt, 5, Sampler.greedy());
        assertEquals(e.tokens().length, content.size());
        try (DeepSeekV3 m = DeepSeekV3.open(tmp)) {
            int vocab = m.config.vocabSize();
            int[] seq = prompt;
            for (int k = 0; k < e.tokens().length; k++) {
                float[] logits = m.forward(seq, 0, m.newCache(seq.length, AttnMode.NAIVE));
                int off = (seq.length - 1) * vocab;
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int v = 0; v < vocab; v++) max = Math.max(max, logits[off + v]);
                for (int v = 0; v < vocab; v++) sum += Math.exp(logits[off + v] - max);
                double logZ = max + Math.log(sum);
                JsonNode t = content.get(k);
                int tok = e.tokens()[k];
                assertEquals(logits[off + tok] - logZ, t.get("logprob").asDouble(), 1e-4, "token " + k);
                assertEquals(3, t.get("top_logprobs").size());
                assertEquals(t.get("logprob").asDouble(), t.get("top_logprobs").get(0).get("logprob").asDouble(), 1e-6,
                        "greedy: the chosen token is the most likely");
                byte[] b = s.tokenizer.tokenBytes(tok);
                assertEquals(b.length, t.get("bytes").size());
                seq = java.util.Arrays.copyOf(seq, seq.length + 1);
                seq[seq.length - 1] = tok;
            }
        }
    }

    @Test void aFullQueueAnswers429WithRetryAfter(@TempDir Path big) throws Exception {
        TestServer.buildModel(big, 42, 4096);
        try (TestServer busy = new TestServer(big, new SamplingParams.Defaults(16, 0f),
                o -> o.withLimits(ServerLimits.DEFAULTS.withMaxQueued(0)),
                EngineOptions.defaults().withCacheBytes(16L << 20).withMaxBatch(1))) {
            try (ExecutorService ex = Executors.newSingleThreadExecutor()) {
                // ignore_eos: greedy from "the", this model ends at EOS after about 130 tokens, which on a loaded
                // machine could pass before the second request arrives; it must stay busy until the 429 is seen
                Future<HttpResponse<String>> longOne = ex.submit(() -> busy.post("/v1/completions",
                        "{\"prompt\":\"the\",\"max_tokens\":4000,\"temperature\":0,\"stream\":true,\"ignore_eos\":true}"));
                long end = System.nanoTime() + 30_000_000_000L;
                while (busy.runner.stats().active() == 0 && System.nanoTime() < end) Thread.sleep(1);
                HttpResponse<String> r = busy.post("/v1/completions", "{\"prompt\":\"a\",\"max_tokens\":2}");
                assertEquals(429, r.statusCode(), r.body() + "\nthe long request: " + (longOne.isDone() ? tail(longOne.get().body()) : "still running"));
                assertEquals("1", r.headers().firstValue("Retry-After").orElse(""));
                assertEquals("rate_limit_error", TestServer.json(r).get("error").get("type").asText());
                assertEquals(200, longOne.get().statusCode());
            }
        }
    }

    @Test void ignoreEosGeneratesUpToMaxTokens(@TempDir Path big) throws Exception {
        TestServer.buildModel(big, 42, 4096);
        try (TestServer t = new TestServer(big, new SamplingParams.Defaults(16, 0f))) {
            // oracle: the same greedy request without the flag, which this model ends at EOS after ~130 tokens
            JsonNode stops = TestServer.json(t.post("/v1/completions", "{\"prompt\":\"the\",\"max_tokens\":400,\"temperature\":0}"));
            int natural = stops.get("usage").get("completion_tokens").asInt();
            assertEquals("stop", stops.get("choices").get(0).get("finish_reason").asText());
            assertTrue(natural < 400, "the oracle request must end at EOS: " + natural);
            JsonNode all = TestServer.json(t.post("/v1/completions", "{\"prompt\":\"the\",\"max_tokens\":400,\"temperature\":0,\"ignore_eos\":true}"));
            assertEquals("length", all.get("choices").get(0).get("finish_reason").asText());
            assertEquals(400, all.get("usage").get("completion_tokens").asInt());
            // the text up to EOS is the same (EOS decodes to no text)
            assertTrue(all.get("choices").get(0).get("text").asText().startsWith(stops.get("choices").get(0).get("text").asText()));
            HttpResponse<String> bad = t.post("/v1/completions", "{\"prompt\":\"the\",\"ignore_eos\":\"yes\"}");
            assertEquals(400, bad.statusCode(), bad.body());
            assertTrue(bad.body().contains("ignore_eos"), bad.body());
        }
    }

    private static String tail(String s) {
        return s.length() > 600 ? "..." + s.substring(s.length() - 600) : s;
    }
}
