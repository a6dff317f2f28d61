package dev.jseek.cli;

import dev.jseek.infer.EngineOptions;
import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.serve.ModelRunner;
import dev.jseek.serve.OpenAiServer;
import dev.jseek.api.PromptStart;
import dev.jseek.serve.SamplingParams;
import dev.jseek.serve.ServerLimits;
import dev.jseek.serve.ServerOptions;
import dev.jseek.serve.Loopback;
import dev.jseek.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintStream;
import java.net.BindException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code jseek serve}: an OpenAI-compatible HTTP server ({@code /v1/chat/completions}, {@code /v1/completions},
 * {@code /v1/models}, {@code /health}, {@code /metrics}, the web chat at {@code /}) over a model directory or .gguf,
 * with continuous batching, so any OpenAI client can talk to it. Runs until Ctrl-C, which stops listening, ends the
 * running generations at their next token and closes the model.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve a model over an OpenAI-compatible HTTP API (chat completions, completions, models; streaming).")
public final class ServeCommand implements Callable<Integer> {
    @Mixin MappedModelOptions model;

    @Mixin ChatTemplateOption chatTemplate;
    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on (default ${DEFAULT-VALUE}; 0.0.0.0 = all interfaces).") String host;
    @Option(names = "--port", defaultValue = "8000", description = "Port (default ${DEFAULT-VALUE}; 0 = any free port).") int port;
    @Option(names = "--model-name", description = "Model id clients see (default: the model directory's name).") String modelName;
    @Option(names = "--max-tokens-default", defaultValue = "256", description = "max_tokens of requests that give none (default ${DEFAULT-VALUE}).") int maxTokensDefault;
    @Option(names = "--temperature", defaultValue = "0.6", description = "Temperature of requests that give none; 0 = greedy (default ${DEFAULT-VALUE}).") float temperature;
    @Option(names = "--attn", defaultValue = "absorb", description = "naive or absorb (default ${DEFAULT-VALUE}).") String attn;
    @Option(names = "--prompt-start", defaultValue = "auto", description = "What /v1/completions prompts start with: bos, eos, none, or auto = BOS when "
            + "tokenizer_config.json says add_bos_token, else EOS (jseek pre-training ends each document with EOS). Default ${DEFAULT-VALUE}.") String promptStart;

    @Option(names = "--api-key", description = "Key every request but /health must bring as 'Authorization: Bearer KEY' "
            + "(default: the environment variable JSEEK_API_KEY; none = no key).") String apiKey;
    @Option(names = "--insecure", description = "Serve a non-loopback --host without an API key (anyone who reaches it can run generations).") boolean insecure;
    @Option(names = "--request-timeout", defaultValue = "10", description = "Seconds a client has to send a request (headers and body); "
            + "slower ones are dropped (default ${DEFAULT-VALUE}).") double requestTimeout;
    @Option(names = "--write-timeout", defaultValue = "30", description = "Seconds one write may wait on a client that does not read "
            + "the answer; it is then dropped and its generation stops (default ${DEFAULT-VALUE}).") double writeTimeout;
    @Option(names = "--max-connections", defaultValue = "64", description = "Requests in progress at once; beyond, 503 (default ${DEFAULT-VALUE}).") int maxConnections;
    @Option(names = "--max-queued", defaultValue = "32", description = "Generation requests waiting for a batch slot; beyond, 429 with Retry-After (default ${DEFAULT-VALUE}).") int maxQueued;
    @Option(names = "--kv-cache-mb", description = "Memory budget of the batch engine's paged MLA latent cache in MiB, all requests together "
            + "(default: half of the Java heap left after loading the model); requests wait for blocks when it is full.") Long kvCacheMb;
    @Option(names = "--max-batch", defaultValue = "16", description = "Sequences decoded together at most (default ${DEFAULT-VALUE}).") int maxBatch;
    @Option(names = "--prefix-cache", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Reuse the cached latent blocks of prompt prefixes shared between requests (default on; --no-prefix-cache turns it off).") boolean prefixCache;
    @Option(names = "--generation-timeout", description = "Seconds a generation may take from its request's arrival (queueing included); "
            + "it then ends with finish_reason length and what it has (default: no limit).") Double generationTimeout;
    @Option(names = "--speculative", description = "MTP speculative decoding in the batch: each step drafts a token per sequence with the "
            + "model's MTP module and verifies it in the same batched forward (the same tokens, up to 2 per step; needs a model with MTP).") boolean speculative;
    @Option(names = "--max-cache-mib", defaultValue = "4096", description = "Latent cache MiB one request may reserve (prompt + max_tokens, "
            + "in whole blocks of the --kv-cache-mb pool, which also bounds it); larger requests get 400 naming the numbers (default ${DEFAULT-VALUE}).") long maxCacheMib;

    private final CountDownLatch stopped = new CountDownLatch(1);

    @Override public Integer call() throws IOException, InterruptedException {
        AttnMode mode = AttnMode.parse(attn);
        if (mode == null) throw new UserException("--attn: unknown value '" + attn + "' (use naive or absorb)");
        PromptStart start = PromptStart.parse(promptStart);
        if (start == null) throw new UserException("--prompt-start: unknown value '" + promptStart + "' (use auto, bos, eos or none)");
        if (port < 0 || port > 65535) throw new UserException("--port must be in 0..65535, got " + port);
        if (maxTokensDefault < 1) throw new UserException("--max-tokens-default must be >= 1, got " + maxTokensDefault);
        if (!(temperature >= 0)) throw new UserException("--temperature must be >= 0, got " + temperature);
        if (apiKey == null) apiKey = System.getenv("JSEEK_API_KEY");
        if (apiKey != null && (apiKey.isEmpty() || !apiKey.chars().allMatch(c -> c > 0x20 && c < 0x7f)))
            throw new UserException("--api-key (or JSEEK_API_KEY) must be printable ASCII without spaces, and not empty");
        if (!(requestTimeout > 0 && requestTimeout <= 86400)) throw new UserException("--request-timeout must be in (0, 86400] seconds, got " + requestTimeout);
        if (!(writeTimeout > 0 && writeTimeout <= 86400)) throw new UserException("--write-timeout must be in (0, 86400] seconds, got " + writeTimeout);
        if (maxConnections < 1) throw new UserException("--max-connections must be >= 1, got " + maxConnections);
        if (maxQueued < 0) throw new UserException("--max-queued must be >= 0, got " + maxQueued);
        if (maxCacheMib < 1 || maxCacheMib > (1L << 40)) throw new UserException("--max-cache-mib must be in 1..2^40, got " + maxCacheMib);
        ServerLimits limits = new ServerLimits(Math.round(requestTimeout * 1000), Math.round(writeTimeout * 1000), maxConnections,
                maxQueued, ServerLimits.DEFAULTS.heartbeatAfterMs());
        if (apiKey == null && !insecure && !Loopback.isLoopback(host))
            throw new UserException("--host " + host + " is not a loopback address: serving it without a key lets anyone who reaches it "
                    + "run generations; give --api-key KEY (or set JSEEK_API_KEY), or --insecure to serve it open");
        if (mode != AttnMode.ABSORB) throw new UserException("--attn: the server's batch engine decodes with absorbed attention "
                + "(its paged cache holds the MLA latent); use --attn absorb (naive is for generate and forward)");
        if (kvCacheMb != null && kvCacheMb < 1) throw new UserException("--kv-cache-mb must be >= 1, got " + kvCacheMb);
        if (maxBatch < 1) throw new UserException("--max-batch must be >= 1, got " + maxBatch);
        if (generationTimeout != null && !(generationTimeout > 0 && generationTimeout <= 86400))
            throw new UserException("--generation-timeout must be in (0, 86400] seconds, got " + generationTimeout);
        Path modelPath = model.model.checked();
        String name = modelName != null ? modelName : modelPath.toAbsolutePath().normalize().getFileName().toString();
        if (name.isBlank()) throw new UserException("--model-name is empty");
        Tokenizer tok = chatTemplate.apply(model.tokenizer.find(modelPath, true));
        java.util.Map<String, Object> templateDefaults = chatTemplate.kwargs(tok);
        PrintStream err = System.err;
        ServerOptions opts = new ServerOptions(host, port, name, new SamplingParams.Defaults(maxTokensDefault, temperature), err,
                limits, apiKey, insecure, generationTimeout == null ? null : java.time.Duration.ofMillis(Math.round(generationTimeout * 1000)));
        ModelRunner runner;
        long tLoad = System.nanoTime();
        DeepSeekV3 m = model.open();
        try {
            EngineOptions eo = EngineOptions.defaults().withMaxBatch(maxBatch).withMaxQueue(Math.max(maxQueued, 1024))
                    .withPrefixCache(prefixCache).withSpeculative(speculative).withMaxRequestBytes(maxCacheMib << 20);
            if (kvCacheMb != null) eo = eo.withCacheBytes(kvCacheMb << 20);
            runner = new ModelRunner(m, tok, start, eo);
            runner.templateDefaults(templateDefaults);
        } catch (IllegalArgumentException e) {
            m.close();
            throw new UserException(e.getMessage(), e);
        }
        LoadReport.print(modelPath, tLoad, m, err);
        // a backstop under the 503 of --max-connections: the JDK server closes connections beyond this at once
        if (System.getProperty("jdk.httpserver.maxConnections") == null)
            System.setProperty("jdk.httpserver.maxConnections", Integer.toString((int) Math.min(Integer.MAX_VALUE, 4L * maxConnections + 16)));
        OpenAiServer server;
        try {
            server = OpenAiServer.start(runner, opts);
        } catch (BindException e) {
            runner.close();
            String why = String.valueOf(e.getMessage());
            throw new UserException("cannot listen on " + host + ":" + port + ": " + why + (why.contains("in use")
                    ? " (is another server using it? try --port 0)" : why.contains("assign")
                    ? " (" + host + " is not an address of this machine; try 127.0.0.1 or 0.0.0.0)" : ""), e);
        } catch (IOException | RuntimeException e) {
            runner.close();
            throw new UserException("cannot listen on " + host + ":" + port + ": " + e, e);
        }
        Thread hook = new Thread(() -> {
            err.println("serve: stopping");
            server.close();
            runner.close();
            stopped.countDown();
        }, "jseek-serve-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        var st = runner.stats();
        System.out.printf("serving %s (%s, context %d tokens, batch up to %d, latent cache %d tokens in %d blocks) at %s/v1  (Ctrl-C stops)%n",
                name, modelPath, runner.contextLength(), maxBatch, (long) st.blocksTotal() * st.blockTokens(), st.blocksTotal(), server.url());
        String auth = apiKey == null ? "" : "-H \"Authorization: Bearer $JSEEK_API_KEY\" ";
        System.out.printf("try:  curl %s/v1/chat/completions " + auth + "-H 'Content-Type: application/json' \\%n"
                + "        -d '{\"model\": \"%s\", \"messages\": [{\"role\": \"user\", \"content\": \"Hello!\"}], \"max_tokens\": 64}'%n",
                server.url(), name);
        System.out.printf("      curl %s/v1/completions " + auth + "-H 'Content-Type: application/json' \\%n"
                + "        -d '{\"model\": \"%s\", \"prompt\": \"public static int max(\", \"max_tokens\": 40, \"temperature\": 0}'%n",
                server.url(), name);
        System.out.printf("chat in a browser: %s/%n", server.url());
        System.out.flush();
        stopped.await();
        return 0;
    }
}
