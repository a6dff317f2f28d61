package dev.jseek.serve;

import dev.jseek.api.PromptStart;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jseek.infer.Generator;
import dev.jseek.infer.Sampler;
import dev.jseek.io.SafetensorsFile;
import dev.jseek.io.TensorInfo;
import dev.jseek.model.AttnMode;
import dev.jseek.model.ConfigEdits;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.Presets;
import dev.jseek.model.RandomInit;
import dev.jseek.tensor.DType;
import dev.jseek.tokenizer.BpeTrainer;
import dev.jseek.tokenizer.Tokenizer;
import dev.jseek.tokenizer.TrainingCorpus;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A served tiny model for the endpoint tests: a byte-level BPE trained on seeded English-like text (with the
 * DeepSeek-V3 special and chat tokens at ids 0..17), a random {@code tiny}-preset DeepSeek-V3 with that vocabulary,
 * weights std 0.3 (so greedy output varies with context), a context of {@link #CONTEXT} tokens; the server on port 0,
 * its log captured. Also the oracles: {@link Generator} on a second, independently opened copy of the model.
 */
final class TestServer implements AutoCloseable {
    static final int CONTEXT = 64;
    static final ObjectMapper JSON = new ObjectMapper();

    final Path dir;
    final Tokenizer tokenizer;
    final ModelRunner runner;
    final OpenAiServer server;
    final ServerOptions options;
    private final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** Writes tokenizer.json, config.json and the safetensors into {@code dir}. */
    static void buildModel(Path dir, long seed) throws IOException { buildModel(dir, seed, CONTEXT); }

    /** As {@link #buildModel(Path, long)} with a context of {@code context} tokens. */
    static void buildModel(Path dir, long seed, int context) throws IOException { buildModel(dir, seed, context, "tiny"); }

    /** As {@link #buildModel(Path, long, int)} with the layer shapes of another preset (e.g. "small": slower tokens). */
    static void buildModel(Path dir, long seed, int context, String preset) throws IOException {
        Files.createDirectories(dir);
        Random r = new Random(seed);
        String[] words = {"the", "model", "reads", "a", "token", "and", "writes", "next", "one", "server", "answers",
                "client", "stream", "of", "text", "hello", "world", "cache", "latent", "expert", "Java", "code", "int",
                "return", "value", "(", ")", ";", "{", "}", "=", "+", "42", "7", "café", "naïve", "über"};
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 6000; i++) {
            sb.append(words[r.nextInt(words.length)]);
            sb.append(r.nextInt(12) == 0 ? ".\n" : " ");
        }
        Path corpus = dir.resolve("corpus.txt");
        Files.writeString(corpus, sb);
        BpeTrainer.train(new TrainingCorpus(corpus, null, Long.MAX_VALUE), new BpeTrainer.Options(400, 2, 1, null),
                dir.resolve("tokenizer.json"));
        int vocab = Tokenizer.load(dir.resolve("tokenizer.json")).vocabSize();
        var cfg = ConfigEdits.edit(Presets.get(preset), o -> {
            o.put("vocab_size", vocab).put("max_position_embeddings", context);
            o.putNull("rope_scaling");
        });
        RandomInit.write(cfg, dir, seed, 0.3, DType.F32);
    }

    /** Zeroes row a of lm_head.weight (F32) in place: token a's logit is then always 0 (never the greedy choice in practice). */
    static void zeroHeadRow(Path dir, int a) throws IOException {
        TensorInfo t;
        try (var f = Files.list(dir)) {
            Path st = f.filter(p -> p.toString().endsWith(".safetensors")).findFirst().orElseThrow();
            try (SafetensorsFile sf = SafetensorsFile.open(st)) {
                t = sf.info("lm_head.weight");
            }
        }
        if (t.dtype() != DType.F32) throw new IllegalStateException("lm_head is " + t.dtype());
        int row = (int) t.dim(1) * 4;
        try (FileChannel ch = FileChannel.open(t.file(), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(row), t.fileOffset() + (long) a * row);
        }
    }

    /** Swaps rows a and b of lm_head.weight (F32) in place: the model then prefers b where it preferred a. */
    static void swapHeadRows(Path dir, int a, int b) throws IOException {
        TensorInfo t;
        try (var f = Files.list(dir)) {
            Path st = f.filter(p -> p.toString().endsWith(".safetensors")).findFirst().orElseThrow();
            try (SafetensorsFile sf = SafetensorsFile.open(st)) {
                t = sf.info("lm_head.weight");
            }
        }
        if (t.dtype() != DType.F32) throw new IllegalStateException("lm_head is " + t.dtype());
        int row = (int) t.dim(1) * 4;
        try (FileChannel ch = FileChannel.open(t.file(), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer ra = ByteBuffer.allocate(row), rb = ByteBuffer.allocate(row);
            ch.read(ra, t.fileOffset() + (long) a * row);
            ch.read(rb, t.fileOffset() + (long) b * row);
            ch.write(rb.flip(), t.fileOffset() + (long) a * row);
            ch.write(ra.flip(), t.fileOffset() + (long) b * row);
        }
    }

    TestServer(Path dir, SamplingParams.Defaults defaults) throws IOException { this(dir, defaults, o -> o); }

    /** With the options (limits, key) edited by {@code edit}. */
    TestServer(Path dir, SamplingParams.Defaults defaults, java.util.function.UnaryOperator<ServerOptions> edit) throws IOException {
        this(dir, defaults, edit, dev.jseek.infer.EngineOptions.defaults().withCacheBytes(64L << 20));
    }

    TestServer(Path dir, SamplingParams.Defaults defaults, dev.jseek.infer.EngineOptions engine) throws IOException {
        this(dir, defaults, o -> o, engine);
    }

    /** With the options edited by {@code edit} and the batch engine's options {@code engine}. */
    TestServer(Path dir, SamplingParams.Defaults defaults, java.util.function.UnaryOperator<ServerOptions> edit,
               dev.jseek.infer.EngineOptions engine) throws IOException {
        this.dir = dir;
        Path tf = dir.resolve("tokenizer.json");
        this.tokenizer = Tokenizer.load(Files.exists(tf) ? tf : dir.getParent().resolve("tokenizer.json")); // as a run directory holds it
        this.runner = new ModelRunner(DeepSeekV3.open(dir), tokenizer, PromptStart.AUTO, engine);
        this.options = edit.apply(new ServerOptions("127.0.0.1", 0, "tiny-test", defaults, new PrintStream(logBytes, true, StandardCharsets.UTF_8)));
        this.server = OpenAiServer.start(runner, options);
    }

    /**
     * Sends {@code request} (raw bytes: request line, headers, body; send {@code Connection: close}) on a fresh socket
     * and returns what came back until the server closed the connection or {@code timeoutMs} passed (5 s to connect).
     */
    String raw(String request, int timeoutMs) throws IOException {
        try (java.net.Socket so = new java.net.Socket()) {
            so.connect(new java.net.InetSocketAddress("127.0.0.1", server.port()), 5000);
            so.setSoTimeout(timeoutMs);
            so.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            so.getOutputStream().flush();
            java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
            byte[] b = new byte[8192];
            try {
                for (int n; (n = so.getInputStream().read(b)) > 0; ) got.write(b, 0, n);
            } catch (java.net.SocketTimeoutException e) {
                // what arrived so far
            }
            return got.toString(StandardCharsets.ISO_8859_1);
        }
    }

    /** What the oracle generation gives: ids, decoded text (special tokens skipped), finish reason. */
    record Expected(int[] prompt, int[] tokens, String text, String finishReason) {}

    /** {@link Generator} run directly on a separately opened model, stopping at EOS, decoded with {@link Tokenizer#decode}. */
    Expected oracle(int[] prompt, int maxTokens, Sampler sampler) {
        try (DeepSeekV3 m = DeepSeekV3.open(dir)) {
            int eos = m.config.eosTokenId();
            int[] t = new Generator(m, AttnMode.ABSORB).generate(prompt, maxTokens, sampler, new int[] {eos}, null).tokens();
            boolean stopped = t.length > 0 && t[t.length - 1] == eos;
            return new Expected(prompt, t, tokenizer.decode(t, true), stopped ? "stop" : "length");
        }
    }

    /**
     * The oracle for prompts longer than one prefill chunk: the prompt prefilled in {@code chunk}-token forwards at
     * absolute chunk boundaries (the engine's schedule), then one-token decodes, on a contiguous cache, stopping at EOS.
     */
    Expected oracleChunked(int[] prompt, int maxTokens, Sampler sampler, int chunk) {
        try (DeepSeekV3 m = DeepSeekV3.open(dir)) {
            int eos = m.config.eosTokenId(), vocab = m.config.vocabSize();
            var cache = m.newCache(prompt.length + maxTokens, AttnMode.ABSORB);
            float[] h = null;
            int last = 0;
            for (int p0 = 0; p0 < prompt.length; p0 += chunk) {
                int p1 = Math.min(prompt.length, p0 + chunk);
                h = m.forwardHidden(java.util.Arrays.copyOfRange(prompt, p0, p1), p0, cache);
                last = p1 - p0 - 1;
            }
            float[] logits = m.logits(h, last, 1);
            int[] out = new int[maxTokens];
            int n = 0, pos = prompt.length;
            while (n < maxTokens) {
                int t = sampler.sample(logits, 0, vocab);
                out[n++] = t;
                if (t == eos || n == maxTokens) break;
                logits = m.forward(new int[] {t}, pos++, cache);
            }
            int[] t = java.util.Arrays.copyOf(out, n);
            boolean stopped = n > 0 && t[n - 1] == eos;
            return new Expected(prompt, t, tokenizer.decode(t, true), stopped ? "stop" : "length");
        }
    }

    String url(String path) { return server.url() + path; }

    HttpResponse<String> send(String method, String path, String body) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url(path))).timeout(Duration.ofSeconds(30));
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) b.header("Content-Type", "application/json");
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    HttpResponse<String> post(String path, String body) throws IOException, InterruptedException { return send("POST", path, body); }

    HttpResponse<String> get(String path) throws IOException, InterruptedException { return send("GET", path, null); }

    static JsonNode json(HttpResponse<String> r) throws IOException { return JSON.readTree(r.body()); }

    /**
     * The events of an SSE body, checking the framing exactly: every event is {@code data: <one line>\n\n}, nothing
     * else, and the last is {@code data: [DONE]} (which is not returned).
     */
    static List<JsonNode> sseEvents(String body) throws IOException {
        if (!body.endsWith("data: [DONE]\n\n")) throw new AssertionError("the stream does not end with data: [DONE]: " + tail(body));
        String[] parts = body.substring(0, body.length() - 2).split("\n\n", -1);
        List<JsonNode> out = new ArrayList<>();
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i];
            if (!p.startsWith("data: ") || p.indexOf('\n') >= 0) throw new AssertionError("event " + i + " is not 'data: <line>': " + p);
            String data = p.substring(6);
            if (i == parts.length - 1) {
                if (!data.equals("[DONE]")) throw new AssertionError("last event is " + data);
            } else {
                if (data.equals("[DONE]")) throw new AssertionError("[DONE] before the end (event " + i + ")");
                out.add(JSON.readTree(data));
            }
        }
        return out;
    }

    private static String tail(String s) { return s.length() > 200 ? "..." + s.substring(s.length() - 200) : s; }

    /** The request log lines so far. */
    List<String> logLines() {
        String s = logBytes.toString(StandardCharsets.UTF_8);
        return s.isEmpty() ? List.of() : List.of(s.split("\n"));
    }

    /** Waits (up to 5 s) until a log line satisfies {@code p}; returns whether one did. */
    boolean awaitLogLine(java.util.function.Predicate<String> p) throws InterruptedException {
        long end = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < end) {
            if (logLines().stream().anyMatch(p)) return true;
            Thread.sleep(10);
        }
        return false;
    }

    @Override public void close() {
        server.close();
        runner.close();
    }
}
