package dev.jseek.serve;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jseek.cli.Jseek;
import dev.jseek.infer.Sampler;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code jseek serve} as a user runs it: a child JVM on a run directory layout (tokenizer.json one folder above the
 * checkpoint, as quickstart writes it), {@code --port 0}; the printed URL works, the options reach the requests,
 * SIGINT stops it (it runs with {@code --speculative}, whose answers are plain decoding's). Bad options give one line
 * and exit code 2.
 */
class ServeCommandTest {
    @TempDir static Path tmp;
    static Path run, ckpt;

    @BeforeAll static void model() throws Exception {
        run = tmp.resolve("run");
        ckpt = run.resolve("step-9");
        TestServer.buildModel(ckpt, 21);
        Files.move(ckpt.resolve("tokenizer.json"), run.resolve("tokenizer.json"));
    }

    @Test void servesOnTheRealPortAndStopsOnSigint() throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC",
                "-cp", System.getProperty("java.class.path"), Jseek.class.getName(),
                "serve", "--model", ckpt.toString(), "--port", "0", "--temperature", "0", "--max-tokens-default", "7",
                "--speculative")); // MTP drafts in the batch: the same answers as the oracle's plain decoding
        Path err = tmp.resolve("serve.err");
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String first = out.readLine();
            assertNotNull(first, () -> "no output; stderr: " + read(err));
            Matcher m = Pattern.compile("at (http://127\\.0\\.0\\.1:(\\d+))/v1").matcher(first);
            assertTrue(m.find(), first);
            String url = m.group(1);
            assertNotEquals("0", m.group(2));
            String curl = out.readLine();
            assertTrue(curl.contains("curl " + url + "/v1/chat/completions"), curl);
            HttpClient http = HttpClient.newHttpClient();
            JsonNode models = TestServer.JSON.readTree(http.send(HttpRequest.newBuilder(URI.create(url + "/v1/models")).build(),
                    HttpResponse.BodyHandlers.ofString()).body());
            assertEquals("step-9", models.get("data").get(0).get("id").asText());
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url + "/v1/completions"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"hello world\"}")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            // --temperature 0 and --max-tokens-default 7 apply: greedy, 7 tokens (unless EOS)
            try (TestServer oracle = new TestServer(ckpt, new SamplingParams.Defaults(7, 0f))) {
                int[] ids = oracle.tokenizer.encode("hello world", false);
                int[] prompt = new int[ids.length + 1];
                prompt[0] = oracle.tokenizer.eosId();
                System.arraycopy(ids, 0, prompt, 1, ids.length);
                TestServer.Expected e = oracle.oracle(prompt, 7, Sampler.greedy());
                JsonNode j = TestServer.JSON.readTree(r.body());
                assertEquals(e.text(), j.get("choices").get(0).get("text").asText());
                assertEquals(e.tokens().length, j.get("usage").get("completion_tokens").asInt());
            }
            new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
            assertTrue(p.waitFor(20, TimeUnit.SECONDS), "serve did not stop on SIGINT");
            String log = read(err);
            assertTrue(log.contains("serve: stopping"), log);
            JsonNode u = TestServer.JSON.readTree(r.body()).get("usage");
            assertTrue(log.contains("serve: POST /v1/completions 200 tokens " + u.get("prompt_tokens").asInt() + "+"
                    + u.get("completion_tokens").asInt() + " "), log);
            assertFalse(log.contains("Exception"), log);
        } finally {
            p.destroyForcibly();
        }
    }

    @Test void badOptionsGiveOneLineAndExitCode2() throws Exception {
        assertEquals(List.of(2, "--model: " + tmp.resolve("nope") + " does not exist (give a model directory with config.json and "
                + "safetensors, or a .gguf file)"), cli("serve", "--model", tmp.resolve("nope").toString()));
        // issue 10 §11: a file that is not GGUF is not "not a directory"
        Path notGguf = Files.writeString(tmp.resolve("model.bin"), "not a model");
        assertEquals(List.of(2, "--model: " + notGguf + " is a file but not a GGUF model (it does not start with the bytes GGUF); "
                + "give a model directory with config.json and safetensors, or a .gguf file"), cli("serve", "--model", notGguf.toString()));
        // issue 10 §2: no key on a non-loopback address
        List<Object> open = cli("serve", "--model", ckpt.toString(), "--host", "0.0.0.0");
        assertEquals(2, open.get(0));
        assertTrue(((String) open.get(1)).startsWith("--host 0.0.0.0 is not a loopback address") && ((String) open.get(1)).contains("--api-key")
                && ((String) open.get(1)).contains("--insecure"), (String) open.get(1));
        assertEquals(List.of(2, "--api-key (or JSEEK_API_KEY) must be printable ASCII without spaces, and not empty"),
                cli("serve", "--model", ckpt.toString(), "--api-key", "a b"));
        assertEquals(List.of(2, "--request-timeout must be in (0, 86400] seconds, got 0.0"), cli("serve", "--model", ckpt.toString(), "--request-timeout", "0"));
        // issue 10 §11: an address this machine does not have is not "another server"
        List<Object> foreign = cli("serve", "--model", ckpt.toString(), "--host", "192.0.2.1", "--insecure", "--port", "0");
        assertEquals(2, foreign.get(0));
        assertTrue(((String) foreign.get(1)).contains("192.0.2.1 is not an address of this machine")
                && !((String) foreign.get(1)).contains("another server"), (String) foreign.get(1));
        assertEquals(List.of(2, "--attn: unknown value 'fast' (use naive or absorb)"), cli("serve", "--model", ckpt.toString(), "--attn", "fast"));
        assertEquals(List.of(2, "--temperature must be >= 0, got -1.0"), cli("serve", "--model", ckpt.toString(), "--temperature", "-1"));
        assertEquals(List.of(2, "--port must be in 0..65535, got 70000"), cli("serve", "--model", ckpt.toString(), "--port", "70000"));
        Path lone = tmp.resolve("lone");
        TestServer.buildModel(lone, 1);
        Files.delete(lone.resolve("tokenizer.json"));
        assertEquals(List.of(2, "no tokenizer.json in " + lone + " or its parent; pass --tokenizer FILE"), cli("serve", "--model", lone.toString()));
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            List<Object> r = cli("serve", "--model", ckpt.toString(), "--port", Integer.toString(taken.getLocalPort()));
            assertEquals(2, r.get(0));
            assertTrue(((String) r.get(1)).startsWith("cannot listen on 127.0.0.1:" + taken.getLocalPort()), (String) r.get(1));
        }
    }

    /** Exit code and the single stderr line of an in-process CLI run that fails before serving. */
    private static List<Object> cli(String... args) {
        CommandLine cl = Jseek.commandLine();
        StringWriter sw = new StringWriter();
        cl.setErr(new PrintWriter(sw));
        int rc = cl.execute(args);
        String e = sw.toString().strip();
        assertEquals(1, e.lines().count(), e);
        return List.of(rc, e.replaceFirst("^jseek: ", ""));
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (Exception e) {
            return "(" + e + ")";
        }
    }
}
