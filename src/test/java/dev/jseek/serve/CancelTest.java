package dev.jseek.serve;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.infer.Sampler;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A non-streaming client that disconnects stops its generation (issue 10 §4). Before, it ran on to max_tokens while
 * every other request queued behind it; now the server commits its 200 once the heartbeat delay passes (0 here) and
 * writes JSON whitespace between tokens, so a closed connection is noticed within a token or two. Oracle: the number
 * of tokens the same greedy request makes when nobody leaves ({@link dev.jseek.infer.Generator} directly).
 */
@Timeout(120)
class CancelTest {
    @TempDir static Path tmp;
    static TestServer s;
    static final String HOLD_PROMPT = "the model reads a token and";
    /** The holder's completion runs well past the engine's pause point (BatchEngine.MAX_UNREAD = 256 unread tokens), where it keeps its slot. */
    static final int HOLD_MIN = 1000;
    static final int MAX = 4000; // long enough that the running generation outlasts the queue checks, warm JIT and batch engine included

    @BeforeAll static void start() throws Exception {
        TestServer.buildModel(tmp, 3, MAX + 64);
        // one batch slot, so that a second request waits in the queue as the queue tests need
        s = new TestServer(tmp, new SamplingParams.Defaults(8, 0f),
                o -> o.withLimits(ServerLimits.DEFAULTS.withHeartbeatAfterMs(0).withMaxQueued(1)),
                dev.jseek.infer.EngineOptions.defaults().withCacheBytes(64L << 20).withMaxBatch(1));
    }

    @AfterAll static void stop() { if (s != null) s.close(); }

    static Socket send(String path, String body) throws Exception {
        Socket so = new Socket();
        so.connect(new InetSocketAddress("127.0.0.1", s.server.port()), 5000);
        so.setSoTimeout(10_000);
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        so.getOutputStream().write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
                + b.length + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        so.getOutputStream().write(b);
        so.getOutputStream().flush();
        return so;
    }

    @Test void anAbandonedNonStreamingGenerationStops() throws Exception {
        String prompt = "the model reads a token and";
        int[] ids = s.runner.completionPrompt(prompt);
        int full = s.oracle(ids, MAX, Sampler.greedy()).tokens().length;
        assertTrue(full >= 100, "precondition: the greedy completion runs long (" + full + " tokens)");
        Socket so = send("/v1/completions", "{\"prompt\": \"" + prompt + "\", \"max_tokens\": " + MAX + ", \"temperature\": 0}");
        so.getInputStream().read(); // the heartbeat's 200 has begun: the generation runs
        so.close();
        Pattern line = Pattern.compile("serve: POST /v1/completions 200 tokens (\\d+)\\+(\\d+) \\d+ ms \\(client went away.*");
        assertTrue(s.awaitLogLine(l -> line.matcher(l).matches()), String.join("\n", s.logLines()));
        Matcher m = s.logLines().stream().map(line::matcher).filter(Matcher::matches).findFirst().orElseThrow();
        int made = Integer.parseInt(m.group(2));
        assertTrue(made < full, "the abandoned generation made " + made + " of " + full + " tokens");
        // the server is free at once: a fresh request is answered
        assertEquals(200, s.post("/v1/completions", "{\"prompt\": \"hello\", \"max_tokens\": 2}").statusCode());
    }

    /**
     * The turn is held by a generation whose sink waits on a latch (so the timing is the test's): a queued request
     * whose client leaves drops out of the queue; beyond maxQueued (1 here) a request gets 429 with the numbers.
     */
    @Test void anAbandonedQueuedRequestLeavesTheQueueAndAFullQueueRefuses() throws Exception {
        // the holder keeps its batch slot only while it has not finished: its greedy completion must not end early
        // (the engine pauses it, slot kept, once MAX_UNREAD tokens wait for its blocked sink)
        // (greedy completions of this random model reach its end token within about 250 tokens: the holder samples,
        // with the first seed whose completion, computed by the oracle, runs past HOLD_MIN tokens)
        int[] holdIds = s.runner.completionPrompt(HOLD_PROMPT);
        long holdSeed = -1;
        StringBuilder lengths = new StringBuilder();
        for (long seed = 1; seed <= 64 && holdSeed < 0; seed++) {
            int len = s.oracle(holdIds, MAX, new Sampler(1f, 0, 1f, seed)).tokens().length;
            lengths.append(' ').append(len);
            if (len > HOLD_MIN) holdSeed = seed;
        }
        assertTrue(holdSeed > 0, "no seed gives the holder a long completion; lengths:" + lengths);
        final long seed = holdSeed;
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1), holding = new java.util.concurrent.CountDownLatch(1);
        Thread holder = Thread.ofPlatform().start(() -> {
            try {
                s.runner.run(holdIds, "prompt", // a long sampled completion
                        // MAX tokens: the batch engine never waits for a slow sink, so the holder keeps its batch
                        // slot by still generating, not by its blocked sink
                        new SamplingParams(MAX, 1f, 1f, 0, seed, java.util.List.of(), false, false), d -> {
                            holding.countDown();
                            try {
                                return release.await(60, java.util.concurrent.TimeUnit.SECONDS);
                            } catch (InterruptedException e) {
                                return false;
                            }
                        });
            } catch (InterruptedException ignored) {
                // the test ends
            }
        });
        try {
            assertTrue(holding.await(30, java.util.concurrent.TimeUnit.SECONDS));
            Socket queued = send("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 5}");
            long end = System.nanoTime() + 10_000_000_000L;
            while (s.runner.waiting() < 1 && System.nanoTime() < end) Thread.sleep(10);
            assertEquals(1, s.runner.waiting());
            // issue 10 §6: beyond maxQueued (1 here) a request is refused with the numbers, not queued
            var refused = s.post("/v1/completions", "{\"prompt\": \"hello\", \"max_tokens\": 2}");
            assertEquals(429, refused.statusCode(), refused.body());
            assertTrue(refused.body().contains("1 generation requests are waiting (limit 1)"), refused.body());
            queued.getInputStream().read(); // its heartbeat 200 has begun
            queued.close();
            assertTrue(s.awaitLogLine(l -> l.matches("serve: POST /v1/chat/completions 200 tokens \\d+\\+0 \\d+ ms \\(client went away.*")),
                    String.join("\n", s.logLines()));
            assertEquals(0, s.runner.waiting());
        } finally {
            release.countDown();
            holder.join(30_000);
        }
    }
}
