package dev.jseek.serve;

import static org.junit.jupiter.api.Assertions.*;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A bounded load test: 200 mixed requests from 16 clients against one server (streamed and not, chat and
 * completions, n = 2, cancelled midway by closing the stream, malformed JSON, invalid fields). Every answer must be
 * the intended one (200, or 400 for the malformed and invalid ones), the request log must have one line per request,
 * and afterwards the engine must be idle with no cache block held beyond the prefix cache's, and the heap after a full
 * GC, less the cache blocks still allocated, back within {@link #LEAK_SLACK} of its start. The first round of the load
 * brings the server to its steady state (workspaces grown to the largest batch the load forms, which under a loaded
 * machine's scheduling reached 14 MiB and was no leak); the heap is then compared around a second round and, if that
 * one grew (a CI run once saw 10 MiB in the second round, after the engine began stacking prefills), around a third:
 * a leak grows every round. A leak of 100 KiB per request, injected by hand into {@code ModelRunner.run}, grew a
 * round by 17 MiB and failed. The one-round growths of 10-14 MiB were the measurement, not the heap: the used heap was
 * read as {@code totalMemory() - freeMemory()} after the collections, which counts the whole allocation buffer (TLAB)
 * of every thread that allocated since (the engine's scheduler, which checks the model files ten times a second, the
 * HTTP threads, this one). Read beside the live heap the collection left ({@link #usedHeapAfterGc}, what the test now
 * compares), that figure was 1.6-8.3 MiB above it and moved by up to 2.7 MiB between the reads of one round (five
 * runs alone, load average 6-8), and in a full suite run (this JVM shared with the other tests, a larger heap) 29-38
 * MiB above it and 9.4 MiB apart between the two reads, while the live heap grew by 7-165 KiB per round, as a class
 * histogram of the live objects had shown (70-200 KiB). Every growth of a model workspace slot and of a kernel scratch buffer happens in
 * the first round (traced: 80-84 events of at most 68 KiB for this model).
 */
@Timeout(180)
class LoadTest {
    /** Heap growth allowed after the load (a full GC, cache blocks excluded): 200 requests leaking 40 KiB each exceed it. */
    static final long LEAK_SLACK = 8L << 20;
    @TempDir static Path tmp;

    @Test void twoHundredMixedRequests() throws Exception {
        TestServer.buildModel(tmp, 51);
        try (TestServer s = new TestServer(tmp, new SamplingParams.Defaults(8, 0.7f))) {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
            // a first round of the same load warms the server up to its steady state (the JIT, the batch engine's
            // workspaces grown to the largest batch the load forms, the HTTP client's and server's pools): the leak
            // check compares the heap around the second round, where a per-request leak shows as it did in the first
            checkOutcomes(load(http, s));
            var pool = s.runner.model().engine().pool();
            awaitIdle(s);
            assertTrue(s.awaitLogLine(l -> s.logLines().size() >= 200), "one log line per request: " + s.logLines().size());
            // two measured rounds: a leak grows the heap in each of them; a workspace that grows once more to a larger
            // batch than the rounds before formed (scheduling decides the batches) grows it in one at most
            long grewA = measuredRound(http, s, pool), grewB = grewA < LEAK_SLACK ? grewA : measuredRound(http, s, pool);
            assertTrue(Math.min(grewA, grewB) < LEAK_SLACK, "the heap grew by " + (grewA >> 10) + " KiB and then " + (grewB >> 10)
                    + " KiB beyond the cache blocks in two rounds of the same load");
        }
    }

    /** One round of the load after the server's steady state: checks it, returns the heap growth beyond the cache blocks. */
    static long measuredRound(HttpClient http, TestServer s, dev.jseek.model.BlockPool pool) throws Exception {
        pool.trim();
        long heap0 = usedHeapAfterGc(), cache0 = pool.allocatedBytes();
        int logged0 = s.logLines().size();
        checkOutcomes(load(http, s));
        // the engine is idle again: nothing queued or running, blocks held only by the prefix cache
        awaitIdle(s);
        var st = s.runner.stats();
        assertEquals(0, st.active(), st.toString());
        assertEquals(0, st.queued(), st.toString());
        assertTrue(st.blocksUsed() <= st.prefixEntries() * (64 / st.blockTokens()), "blocks held after the load: " + st);
        assertTrue(s.awaitLogLine(l -> s.logLines().size() >= logged0 + 200), "one log line per request: " + (s.logLines().size() - logged0));
        // memory back to its start level: the heap after a full GC, less the latent cache blocks still allocated
        // (the prefix cache's; the free ones are trimmed), within LEAK_SLACK of what it was before the load
        pool.trim();
        long heap1 = usedHeapAfterGc(), cache1 = pool.allocatedBytes();
        assertEquals((long) st.blocksUsed() * pool.blockBytes(), cache1, "only the prefix cache's blocks stay allocated");
        long grew = (heap1 - cache1) - (heap0 - cache0);
        System.out.println("LoadTest: the heap grew by " + (grew >> 10) + " KiB beyond the cache blocks (heap " + (heap0 >> 10)
                + " KiB before the round, " + (heap1 >> 10) + " KiB after; cache blocks " + (cache0 >> 10) + " -> " + (cache1 >> 10) + " KiB)");
        return grew;
    }

    /** 200 mixed requests from 16 clients; the outcome of each, counted. */
    static Map<String, Integer> load(HttpClient http, TestServer s) throws Exception {
        Map<String, Integer> outcomes = new TreeMap<>();
        List<Future<String>> fs = new ArrayList<>();
        try (ExecutorService ex = Executors.newFixedThreadPool(16)) {
            for (int i = 0; i < 200; i++) {
                int k = i;
                fs.add(ex.submit(() -> one(http, s, k)));
            }
            for (Future<String> f : fs) outcomes.merge(f.get(), 1, Integer::sum);
        }
        return outcomes;
    }

    static void checkOutcomes(Map<String, Integer> outcomes) {
        for (String o : outcomes.keySet()) assertTrue(o.startsWith("ok "), "unexpected outcome " + o + " in " + outcomes);
        assertEquals(200, outcomes.values().stream().mapToInt(Integer::intValue).sum());
    }

    static void awaitIdle(TestServer s) throws InterruptedException {
        long end = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < end && (s.runner.stats().active() > 0 || s.runner.stats().queued() > 0)) Thread.sleep(20);
    }

    /**
     * The heap's live bytes: full collections, then the heap pools' usage as the last collection left it
     * ({@link java.lang.management.MemoryPoolMXBean#getCollectionUsage}), which is what survived it. Not
     * {@code Runtime.totalMemory() - freeMemory()} read afterwards: that also counts every thread-local allocation
     * buffer a thread took after the collection (the engine's scheduler, the HTTP threads, this one), each a whole
     * buffer of up to several MiB at this heap size, however little of it was used; that figure swung by about 1.5
     * MiB between rounds and, in single rounds, by 10-14 MiB with no live object more.
     */
    static long usedHeapAfterGc() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(50);
        }
        long live = 0;
        for (var p : java.lang.management.ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() != java.lang.management.MemoryType.HEAP) continue;
            var u = p.getCollectionUsage();
            if (u == null) throw new IllegalStateException("heap pool " + p.getName() + " reports no usage after collection");
            live += u.getUsed();
        }
        Runtime rt = Runtime.getRuntime();
        System.out.println("LoadTest: live heap after the collection " + (live >> 10) + " KiB; total - free read afterwards "
                + ((rt.totalMemory() - rt.freeMemory()) >> 10) + " KiB");
        return live;
    }

    /** One request of kind i % 8; returns "ok KIND" when the answer is the intended one. */
    static String one(HttpClient http, TestServer s, int i) throws Exception {
        String user = "{\"messages\":[{\"role\":\"user\",\"content\":\"hello " + i + "\"}]";
        return switch (i % 8) {
            case 0 -> status(http, s, "/v1/chat/completions", user + ",\"max_tokens\":6}", 200, "chat");
            case 1 -> status(http, s, "/v1/completions", "{\"prompt\":\"the model " + i + "\",\"max_tokens\":6,\"stream\":true}", 200, "stream");
            case 2 -> status(http, s, "/v1/chat/completions", user + ",\"max_tokens\":5,\"n\":2,\"seed\":" + i + "}", 200, "n2");
            case 3 -> status(http, s, "/v1/chat/completions", "{\"messages\": [", 400, "malformed");
            case 4 -> status(http, s, "/v1/completions", "{\"prompt\":\"x\",\"temperature\":-2}", 400, "invalid");
            case 5 -> cancelled(http, s, i);
            case 6 -> status(http, s, "/v1/chat/completions", user + ",\"max_tokens\":6,\"stream\":true,\"logprobs\":true,\"top_logprobs\":2}", 200, "logprobs");
            default -> status(http, s, "/v1/completions", "{\"prompt\":\"cache " + i + "\",\"max_tokens\":3,\"temperature\":0}", 200, "greedy");
        };
    }

    static String status(HttpClient http, TestServer s, String path, String body, int expect, String kind) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(s.url(path))).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != expect) return "bad " + kind + " " + r.statusCode() + " " + r.body();
        if (expect == 200 && body.contains("\"stream\":true") && !r.body().endsWith("data: [DONE]\n\n")) return "bad " + kind + " unfinished stream";
        return "ok " + kind;
    }

    /** A long stream closed after its first bytes. */
    static String cancelled(HttpClient http, TestServer s, int i) throws Exception {
        HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(URI.create(s.url("/v1/completions")))
                .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"go " + i + "\",\"max_tokens\":60,\"stream\":true}")).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        if (r.statusCode() != 200) return "bad cancel " + r.statusCode();
        try (InputStream in = r.body()) {
            if (in.read(new byte[64]) <= 0) return "bad cancel: no bytes";
        }
        return "ok cancel";
    }
}
