package dev.jseek.serve;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jseek.infer.EngineOptions;
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
 * {@code serve --speculative}: the same concurrent mix of requests (chat and completions, greedy and seeded, streamed,
 * n = 2, stop strings, logprobs, presence/frequency/repetition penalties, logit bias, prompts sharing a prefix) against the server with MTP speculative decoding and
 * against the plain one must give identical answers. Oracle: the plain server (whose tokens BatchServingTest ties to
 * {@code Generator}).
 */
@Timeout(180)
class SpeculativeServingTest {
    @TempDir static Path tmp;

    static final String[] BODIES = {
        "/v1/chat/completions {\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}],\"max_tokens\":30,\"temperature\":0}",
        "/v1/completions {\"prompt\":\"the model reads a token\",\"max_tokens\":40,\"temperature\":0.9,\"seed\":7}",
        "/v1/chat/completions {\"messages\":[{\"role\":\"user\",\"content\":\"cache\"}],\"max_tokens\":25,\"temperature\":1.1,\"seed\":3,\"stream\":true}",
        "/v1/completions {\"prompt\":\"Java code int return value\",\"max_tokens\":20,\"n\":2,\"temperature\":0.8,\"seed\":11}",
        "/v1/completions {\"prompt\":\"the model reads a token and writes\",\"max_tokens\":35,\"temperature\":0,\"stop\":[\"cache\"]}",
        "/v1/chat/completions {\"messages\":[{\"role\":\"user\",\"content\":\"world\"}],\"max_tokens\":12,\"temperature\":0.7,\"seed\":5,\"logprobs\":true,\"top_logprobs\":2}",
        "/v1/completions {\"prompt\":\"stream of text\",\"max_tokens\":40,\"temperature\":0,\"stream\":true}",
        "/v1/completions {\"prompt\":\"x\",\"max_tokens\":1,\"temperature\":0}",
        "/v1/completions {\"prompt\":\"the cache holds\",\"max_tokens\":30,\"temperature\":0,\"presence_penalty\":-1.5,\"frequency_penalty\":-0.5}",
        "/v1/completions {\"prompt\":\"the cache holds\",\"max_tokens\":30,\"temperature\":0.9,\"seed\":2,\"frequency_penalty\":1.2}",
        "/v1/completions {\"prompt\":\"the cache holds a token\",\"max_tokens\":30,\"temperature\":0,\"repetition_penalty\":0.4,\"logit_bias\":{\"7\":2}}",
    };

    /** Each answer with its volatile fields (ids, timestamps) removed. */
    static List<String> answers(TestServer s) throws Exception {
        List<Future<HttpResponse<String>>> fs = new ArrayList<>();
        try (ExecutorService ex = Executors.newFixedThreadPool(BODIES.length)) {
            for (String b : BODIES) {
                String[] pb = b.split(" ", 2);
                fs.add(ex.submit(() -> s.post(pb[0], pb[1])));
            }
            List<String> out = new ArrayList<>();
            for (Future<HttpResponse<String>> f : fs) {
                HttpResponse<String> r = f.get();
                assertEquals(200, r.statusCode(), r.body());
                List<JsonNode> parts = r.body().startsWith("data:") ? TestServer.sseEvents(r.body()) : List.of(TestServer.json(r));
                StringBuilder sb = new StringBuilder();
                for (JsonNode p : parts) {
                    JsonNode c = p.get("choices");
                    if (c != null) sb.append(c).append('\n');
                    if (p.has("usage") && !p.get("usage").isNull()) sb.append(p.get("usage")).append('\n');
                }
                out.add(sb.toString());
            }
            return out;
        }
    }

    @Test void speculativeServerAnswersExactlyAsThePlainOne() throws Exception {
        TestServer.buildModel(tmp, 61, 160);
        EngineOptions plain = EngineOptions.defaults().withCacheBytes(64L << 20).withMaxBatch(6);
        List<String> want, got;
        try (TestServer s = new TestServer(tmp, new SamplingParams.Defaults(16, 0.6f), plain)) {
            want = answers(s);
        }
        try (TestServer s = new TestServer(tmp, new SamplingParams.Defaults(16, 0.6f), plain.withSpeculative(true))) {
            got = answers(s);
            var st = s.runner.stats();
            assertTrue(st.drafted() > 0, "drafts were made: " + st);
            String m = s.get("/metrics").body();
            assertTrue(m.matches("(?s).*\\njseek_speculative_drafts_total [1-9]\\d*\\n.*"), m);
        }
        for (int i = 0; i < want.size(); i++) assertEquals(want.get(i), got.get(i), "request " + i + ": " + BODIES[i]);
    }
}
