package dev.jseek.serve;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stalled and slow clients (issue 10 §1), with real sockets on 127.0.0.1: incomplete requests of every kind (a body
 * shorter than its Content-Length, headers ending in bare LF, TLS ClientHello bytes, a header never finished) hold
 * more connections than the old handler pool had threads, yet {@code /health} and a completion answer at once; the
 * server drops each stalled connection once the read timeout (set to 1.5 s here) passes; beyond the connection limit
 * a request gets 503 naming the numbers while {@code /health} still answers.
 */
class StallTest {
    @TempDir static Path tmp;
    static final long READ_TIMEOUT_MS = 1500;

    @BeforeAll static void build() throws Exception { TestServer.buildModel(tmp, 11); }

    /** One incomplete request of kind {@code k % 4}. */
    static byte[] stall(int k) {
        return switch (k % 4) {
            case 0 -> ("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 1000\r\n\r\n{\"prompt\": \"a").getBytes(StandardCharsets.ISO_8859_1);
            case 1 -> "GET /health HTTP/1.1\nHost: 127.0.0.1\n".getBytes(StandardCharsets.ISO_8859_1);
            case 2 -> new byte[] {0x16, 0x03, 0x01, 0x00, (byte) 0xa5, 0x01, 0x00, 0x00, (byte) 0xa1, 0x03, 0x03, 0x5a, 0x11};
            default -> "GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaa".getBytes(StandardCharsets.ISO_8859_1);
        };
    }

    static List<Socket> openStalled(int port, int n) throws IOException {
        List<Socket> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Socket so = new Socket();
            so.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            so.setSoTimeout(10_000);
            so.getOutputStream().write(stall(i));
            so.getOutputStream().flush();
            out.add(so);
        }
        return out;
    }

    /** Whether the server closed {@code so} (EOF or reset), reading away any answer; false on the socket's timeout. */
    static boolean closedByServer(Socket so) {
        try {
            InputStream in = so.getInputStream();
            byte[] b = new byte[4096];
            while (in.read(b) >= 0) { /* an error answer may come first */ }
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true; // reset
        }
    }

    @Test @Timeout(60) void stalledConnectionsHoldNobodyUpAndAreDropped() throws Exception {
        try (TestServer s = new TestServer(tmp, new SamplingParams.Defaults(4, 0f),
                o -> o.withLimits(ServerLimits.DEFAULTS.withReadTimeoutMs(READ_TIMEOUT_MS)))) {
            List<Socket> stalled = openStalled(s.server.port(), 24); // more than the 16 handler threads of old
            try {
                Thread.sleep(300);
                long t0 = System.nanoTime();
                HttpResponse<String> h = s.get("/health");
                assertEquals(200, h.statusCode(), h.body());
                long healthMs = (System.nanoTime() - t0) / 1_000_000;
                assertTrue(healthMs < READ_TIMEOUT_MS, "/health waited " + healthMs + " ms for the stalled connections");
                HttpResponse<String> c = s.post("/v1/completions", "{\"prompt\": \"the model\", \"max_tokens\": 3}");
                assertEquals(200, c.statusCode(), c.body());
                assertTrue(s.awaitLogLine(l -> l.startsWith("serve: POST /v1/completions 200")), String.join("\n", s.logLines()));
                for (Socket so : stalled) assertTrue(closedByServer(so), "a stalled connection was not dropped");
                long dropped = (System.nanoTime() - t0) / 1_000_000;
                assertTrue(dropped < READ_TIMEOUT_MS + 3000, "stalled connections were dropped only after " + dropped + " ms");
            } finally {
                for (Socket so : stalled) so.close();
            }
            assertEquals(200, s.get("/health").statusCode());
        }
    }

    /** A request refused before its body is read (415 here) whose client then stalls is still dropped in time. */
    @Test @Timeout(60) void aRefusedRequestWhoseBodyStallsIsDropped() throws Exception {
        try (TestServer s = new TestServer(tmp, new SamplingParams.Defaults(4, 0f),
                o -> o.withLimits(ServerLimits.DEFAULTS.withReadTimeoutMs(READ_TIMEOUT_MS)));
             Socket so = new Socket()) {
            so.connect(new InetSocketAddress("127.0.0.1", s.server.port()), 5000);
            so.setSoTimeout(10_000);
            so.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
                    + "Content-Length: 1000\r\n\r\n{\"prompt\"").getBytes(StandardCharsets.ISO_8859_1));
            so.getOutputStream().flush();
            long t0 = System.nanoTime();
            String got = new String(so.getInputStream().readNBytes(12), StandardCharsets.ISO_8859_1);
            assertEquals("HTTP/1.1 415", got);
            assertTrue(closedByServer(so), "the connection stayed open after the refusal");
            assertTrue((System.nanoTime() - t0) / 1e6 < READ_TIMEOUT_MS + 3000);
        }
    }

    /** issue 10 §9: a client that goes away mid-body is one log line, not an internal error with a stack trace. */
    @Test @Timeout(60) void aClientGoneMidBodyIsOneLogLine() throws Exception {
        try (TestServer s = new TestServer(tmp, new SamplingParams.Defaults(4, 0f))) {
            try (Socket so = new Socket()) {
                so.connect(new InetSocketAddress("127.0.0.1", s.server.port()), 5000);
                so.getOutputStream().write(stall(0));
                so.getOutputStream().flush();
                Thread.sleep(200);
            }
            assertTrue(s.awaitLogLine(l -> l.startsWith("serve: POST /v1/completions 0 ") && l.contains("(client went away")),
                    String.join("\n", s.logLines()));
            assertTrue(s.logLines().stream().noneMatch(l -> l.contains("internal error") || l.contains("\tat ")), String.join("\n", s.logLines()));
        }
    }

    @Test @Timeout(60) void beyondTheConnectionLimitRequestsGet503AndHealthStillAnswers() throws Exception {
        try (TestServer s = new TestServer(tmp, new SamplingParams.Defaults(4, 0f),
                o -> o.withLimits(ServerLimits.DEFAULTS.withReadTimeoutMs(10_000).withMaxConnections(4)))) {
            List<Socket> stalled = openStalled(s.server.port(), 4);
            try {
                Thread.sleep(300);
                HttpResponse<String> r = s.post("/v1/completions", "{\"prompt\": \"the model\", \"max_tokens\": 3}");
                assertEquals(503, r.statusCode(), r.body());
                String m = TestServer.json(r).get("error").get("message").asText();
                assertTrue(m.contains("5 requests in progress (limit 4)"), m);
                assertEquals("1", r.headers().firstValue("Retry-After").orElse(""));
                assertEquals(200, s.get("/health").statusCode());
            } finally {
                for (Socket so : stalled) so.close();
            }
            Thread.sleep(300);
            assertEquals(200, s.post("/v1/completions", "{\"prompt\": \"the model\", \"max_tokens\": 3}").statusCode());
        }
    }
}
