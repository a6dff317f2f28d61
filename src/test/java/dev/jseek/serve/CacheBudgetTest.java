package dev.jseek.serve;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.infer.EngineOptions;
import dev.jseek.infer.Sampler;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * One latent cache accounting ({@code infer/CacheBudget}) for the pool ({@code --kv-cache-mb}) and the per-request
 * limit ({@code --max-cache-mib}): a request that can never be admitted gets one 400 naming the numbers (the prompt
 * when even it does not fit, else max_tokens with the largest that fits, which is then admitted); requests that fit
 * but find the pool full wait and are answered. Oracles: the block arithmetic recomputed here from the model's shape,
 * {@code Generator} run alone for the answers, and the engine's peak batch (1 when the pool holds one request).
 */
@Timeout(120)
class CacheBudgetTest {
    @TempDir static Path tmp;

    static String message(HttpResponse<String> r) throws Exception { return TestServer.json(r).get("error").get("message").asText(); }

    static String param(HttpResponse<String> r) throws Exception { return TestServer.json(r).get("error").get("param").asText(); }

    @Test void aRequestThatCanNeverFitIsOne400AndAFullPoolMakesRequestsWait() throws Exception {
        TestServer.buildModel(tmp, 71, 160);
        long perToken;
        try (TestServer big = new TestServer(tmp, new SamplingParams.Defaults(4, 0f))) {
            perToken = big.runner.cacheBytesPerToken();
        }
        var cfg = dev.jseek.model.ModelConfig.load(tmp.resolve("config.json"));
        assertEquals(4L * cfg.numHiddenLayers() * (cfg.kvLoraRank() + cfg.qkRopeHeadDim()), perToken, "float32 latent rows of every layer");
        // a pool of 6 blocks of 16 tokens: 96 positions; one request of 64 positions (4 blocks) at a time
        EngineOptions six = EngineOptions.defaults().withCacheBytes(perToken * 16 * 6 + 100).withPrefixCache(false);
        try (TestServer s = new TestServer(tmp, new SamplingParams.Defaults(4, 0f), six)) {
            assertEquals(6, s.runner.stats().blocksTotal());
            // a prompt of more than 95 tokens can never fit: one 400 on the prompt, naming the numbers
            int[] longPrompt = new int[100];
            for (int i = 0; i < longPrompt.length; i++) longPrompt[i] = 5 + i % 50;
            HttpResponse<String> r = s.post("/v1/completions", "{\"prompt\": " + java.util.Arrays.toString(longPrompt) + ", \"max_tokens\": 4}");
            assertEquals(400, r.statusCode(), r.body());
            assertEquals("prompt", param(r));
            String m = message(r);
            assertTrue(m.contains("the prompt is 100 tokens") && m.contains("needs 7 blocks") && m.contains("the pool holds 6 blocks")
                    && m.contains(perToken + " bytes per token") && m.contains("a prompt of at most 95 tokens fits")
                    && m.contains("--kv-cache-mb"), m);
            // the prompt fits, max_tokens does not: 400 on max_tokens naming the largest that fits, which is admitted
            String p = "the model reads a token";
            int n = s.runner.completionPrompt(p).length;
            HttpResponse<String> over = s.post("/v1/completions", "{\"prompt\": \"" + p + "\", \"max_tokens\": " + (97 - n) + "}");
            assertEquals(400, over.statusCode(), over.body());
            assertEquals("max_tokens", param(over));
            assertTrue(message(over).contains("ask for max_tokens <= " + (96 - n)), message(over));
            assertEquals(200, s.post("/v1/completions", "{\"prompt\": \"" + p + "\", \"max_tokens\": " + (96 - n) + ", \"temperature\": 0}").statusCode());

            // four requests of 4 blocks each against 6 blocks: they wait for each other, and each gets its answer
            String[] prompts = {"hello world", "cache latent", "the server answers", "Java code"};
            List<Future<HttpResponse<String>>> fs = new ArrayList<>();
            try (ExecutorService ex = Executors.newFixedThreadPool(prompts.length)) {
                for (String q : prompts) {
                    int max = 64 - s.runner.completionPrompt(q).length;
                    fs.add(ex.submit(() -> s.post("/v1/completions", "{\"prompt\": \"" + q + "\", \"max_tokens\": " + max + ", \"temperature\": 0}")));
                }
                for (int i = 0; i < prompts.length; i++) {
                    HttpResponse<String> a = fs.get(i).get();
                    assertEquals(200, a.statusCode(), a.body());
                    int[] ids = s.runner.completionPrompt(prompts[i]);
                    TestServer.Expected e = s.oracle(ids, 64 - ids.length, Sampler.greedy());
                    assertEquals(e.text(), TestServer.json(a).get("choices").get(0).get("text").asText(), "request " + i);
                }
            }
            var st = s.runner.stats();
            assertEquals(1, st.peakBatch(), "the pool held one request at a time: " + st);
            assertEquals(0, st.blocksUsed(), st.toString());
        }
        // with speculative decoding the MTP layer's latent is in the same blocks and the same accounting
        try (TestServer s = new TestServer(tmp, new SamplingParams.Defaults(4, 0f), EngineOptions.defaults().withCacheBytes(64L << 20)
                .withSpeculative(true).withMaxRequestBytes(perToken * 40))) {
            long specPerToken = perToken / cfg.numHiddenLayers() * (cfg.numHiddenLayers() + 1);
            assertEquals(specPerToken, s.runner.cacheBytesPerToken());
            HttpResponse<String> r = s.post("/v1/completions", "{\"prompt\": \"hello\", \"max_tokens\": 100}");
            assertEquals(400, r.statusCode(), r.body());
            int fitBlocks = (int) (perToken * 40 / (specPerToken * 16));
            assertTrue(message(r).contains("a request may reserve " + fitBlocks + " blocks") && message(r).contains("--max-cache-mib")
                    && message(r).contains(specPerToken + " bytes per token"), message(r));
        }
    }
}
