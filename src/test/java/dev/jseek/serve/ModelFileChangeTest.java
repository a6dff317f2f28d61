package dev.jseek.serve;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.io.FileMemory;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The served model's file changes on disk (issue 10 §3). Before, truncating or overwriting the mapped
 * model.safetensors killed the JVM with SIGBUS on the next request; now the change (size, inode, mtime) is noticed
 * before any weight is read and the server refuses work with a 503 naming the file, /health included, while the JVM
 * lives on. With {@code jseek.mmap=false} (--no-mmap) the weights are in memory and the server keeps answering, the
 * same text as before the change.
 */
@Timeout(120)
class ModelFileChangeTest {
    @TempDir Path tmp;
    static final String BODY = "{\"prompt\": \"the model reads\", \"max_tokens\": 5, \"temperature\": 0}";

    static Path weights(Path dir) throws Exception {
        try (var f = Files.list(dir)) {
            return f.filter(p -> p.toString().endsWith(".safetensors")).findFirst().orElseThrow();
        }
    }

    @Test void aTruncatedModelFileIsRefusedNotACrash() throws Exception {
        TestServer.buildModel(tmp, 5);
        Path w = weights(tmp);
        try (TestServer s = new TestServer(tmp, new SamplingParams.Defaults(5, 0f))) {
            assertEquals(200, s.post("/v1/completions", BODY).statusCode());
            try (FileChannel ch = FileChannel.open(w, StandardOpenOption.WRITE)) {
                ch.truncate(ch.size() / 2);
            }
            for (int i = 0; i < 2; i++) { // and it stays refused
                HttpResponse<String> r = s.post("/v1/completions", BODY);
                assertEquals(503, r.statusCode(), r.body());
                String m = TestServer.json(r).get("error").get("message").asText();
                assertTrue(m.contains(w.toString()) && m.contains("changed on disk") && m.contains("size changed"), m);
                assertTrue(m.contains("rename") && m.contains("--no-mmap"), m);
            }
            HttpResponse<String> h = s.get("/health");
            assertEquals(503, h.statusCode(), h.body());
            assertTrue(h.body().contains("changed on disk"), h.body());
        }
    }

    @Test void aModelFileOverwrittenInPlaceIsRefused() throws Exception {
        TestServer.buildModel(tmp, 5);
        Path w = weights(tmp);
        try (TestServer s = new TestServer(tmp, new SamplingParams.Defaults(5, 0f))) {
            assertEquals(200, s.post("/v1/completions", BODY).statusCode());
            byte[] b = Files.readAllBytes(w);
            Files.write(w, b, StandardOpenOption.TRUNCATE_EXISTING); // what cp over it does: same inode, same size
            Files.setLastModifiedTime(w, FileTime.fromMillis(Files.getLastModifiedTime(w).toMillis() + 2000));
            HttpResponse<String> r = s.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}");
            assertEquals(503, r.statusCode(), r.body());
            assertTrue(r.body().contains("it was modified"), r.body());
        }
    }

    @Test void withoutMmapTheWeightsAreInMemoryAndServingGoesOn() throws Exception {
        TestServer.buildModel(tmp, 5);
        Path w = weights(tmp);
        String before;
        System.setProperty(FileMemory.MMAP_PROPERTY, "false");
        TestServer s;
        try {
            s = new TestServer(tmp, new SamplingParams.Defaults(5, 0f));
        } finally {
            System.clearProperty(FileMemory.MMAP_PROPERTY);
        }
        try (s) {
            HttpResponse<String> a = s.post("/v1/completions", BODY);
            assertEquals(200, a.statusCode(), a.body());
            before = TestServer.json(a).get("choices").get(0).get("text").asText();
            try (FileChannel ch = FileChannel.open(w, StandardOpenOption.WRITE)) {
                ch.truncate(100);
            }
            HttpResponse<String> b = s.post("/v1/completions", BODY);
            assertEquals(200, b.statusCode(), b.body());
            assertEquals(before, TestServer.json(b).get("choices").get(0).get("text").asText());
            assertEquals(200, s.get("/health").statusCode());
        }
    }
}
