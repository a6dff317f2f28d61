package dev.jseek.cli;

import dev.jseek.bench.EngineBatchBench;
import dev.jseek.bench.LlamaBatchedBench;
import dev.jseek.infer.BatchEngine;
import dev.jseek.infer.EngineOptions;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.serve.ModelRunner;
import dev.jseek.serve.OpenAiServer;
import dev.jseek.serve.SamplingParams;
import dev.jseek.serve.ServeBench;
import dev.jseek.serve.ServerOptions;
import dev.jseek.source.ModelSource;
import dev.jseek.tokenizer.Tokenizer;
import java.io.PrintStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jseek bench serve}: the batch engine under 1, 4 and 16 concurrent streaming clients (a jseek server started
 * in this process on a free port, or any OpenAI-compatible server at --url, e.g. llama-server --parallel N, as the
 * peer): aggregate output tokens/s, time to first token and inter-token latency p50/p99, and this process's peak RSS.
 * With --model, also the work of llama.cpp's llama-batched-bench on the engine ({@link EngineBatchBench}), and with
 * --llama-batched-bench that peer on the same .gguf with the same threads ({@link LlamaBatchedBench};
 * tools/bench-serve.sh runs both models of the README's table).
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Concurrent streaming clients against the serving engine: tokens/s, TTFT and ITL percentiles, peak RSS.")
public final class BenchServeCommand implements Callable<Integer> {
    @Option(names = "--model", description = "Model directory or .gguf to serve in-process (or give --url).") Path model;
    @Option(names = "--tokenizer", description = "tokenizer.json (default: the model directory's, or its parent's).") Path tokenizerPath;
    @Option(names = "--url", description = "Bench this running OpenAI-compatible server instead (e.g. http://127.0.0.1:8080).") String url;
    @Option(names = "--clients", defaultValue = "1,4,16", split = ",", description = "Concurrency levels (default ${DEFAULT-VALUE}).") int[] clients;
    @Option(names = "--requests", defaultValue = "2", description = "Requests per client per level (default ${DEFAULT-VALUE}).") int perClient;
    @Option(names = "--prompt-len", defaultValue = "128", description = "Prompt tokens (seeded random ids) (default ${DEFAULT-VALUE}).") int promptLen;
    @Option(names = "--max-tokens", defaultValue = "64", description = "max_tokens per request (default ${DEFAULT-VALUE}).") int maxTokens;
    @Option(names = "--max-batch", defaultValue = "16", description = "In-process server: sequences decoded together (default ${DEFAULT-VALUE}).") int maxBatch;
    @Option(names = "--no-prefix-cache", description = "In-process server: no prefix cache (every request has the same prompt, so the cache would skip most prefill).") boolean noPrefixCache;
    @Option(names = "--speculative", description = "In-process server: MTP speculative decoding in the batch.") boolean speculative;
    @Option(names = "--llama-batched-bench", description = "Path of llama.cpp's llama-batched-bench (tools/build-llama-cpp.sh builds it): the peer, "
            + "run on the same --model .gguf with the same threads, the same prompt length, new tokens and sequence counts as --clients.") Path llamaBatchedBench;
    @Option(names = "--prefill-tokens", description = "In-process server: prompt tokens one engine step prefills at most, chunks of several "
            + "sequences stacked in one forward (default: jseek.engine.prefillTokens, 512; 0 = one chunk of one sequence per step).") Integer prefillTokens;
    @Option(names = "--baseline-prefill-tokens", description = "Also run the llama-batched-bench work on a second engine with this many "
            + "prefill tokens per step (e.g. 0, the engine before stacked prefill), in turn with the first, and print the ratios.") Integer baselinePrefillTokens;
    @Option(names = "--warmup", defaultValue = "1", description = "Untimed passes over every --clients level before the engine's "
            + "llama-batched-bench rows are timed (JIT warm-up) (default ${DEFAULT-VALUE}).") int warmup;
    @Option(names = "--warmup-seconds", defaultValue = "10", paramLabel = "S", description = "More such passes until this many seconds "
            + "of warm-up have passed (default ${DEFAULT-VALUE}): a small model's step is mostly code called a few times per token, "
            + "which the JIT compiles after thousands of calls.") double warmupSeconds;
    @Option(names = "--rounds", defaultValue = "1", description = "Rounds of the llama-batched-bench work: each times jseek's rows, then "
            + "the peer's, so both sides of a round see the host in the same state; the table gives medians and the median of the "
            + "rounds' own ratios (default ${DEFAULT-VALUE}).") int rounds;
    @Option(names = "--peer-timeout", defaultValue = "1800", description = "Seconds the peer may run (default ${DEFAULT-VALUE}).") long peerTimeout;

    /**
     * Untimed passes over every level with the timed lengths ({@code --warmup}, and more until {@code --warmup-seconds}
     * have passed), so that the timed rows run the
     * JIT-compiled code a long-running server runs (llama-batched-bench warms up too). Without them the first rows
     * time the JIT: on the quickstart-shaped model a B = 1 row right after an 8-token warm-up took 0.8 ms per token
     * where the compiled step takes 0.2-0.3 ms (docs/serving.md, "Measuring the engine").
     */
    private void warmUp(BatchEngine e, int vocab) throws InterruptedException {
        long t0 = System.nanoTime();
        EngineBatchBench.run(e, vocab, promptLen, Math.min(8, maxTokens), 1, 999);
        int passes = 0;
        while (passes < warmup || System.nanoTime() - t0 < warmupSeconds * 1e9) {
            for (int b : clients) EngineBatchBench.run(e, vocab, promptLen, maxTokens, b, 900 + b);
            passes++;
        }
        System.err.printf("warm-up: %d passes over every level in %.1f s%n", passes, (System.nanoTime() - t0) / 1e9);
    }

    /**
     * The same work as llama-batched-bench on the engine (no HTTP): for B in --clients, B sequences of --prompt-len
     * random tokens and --max-tokens decode steps each; beside it the peer's line when --llama-batched-bench is given.
     */
    private void batchedTable(ModelRunner runner, DeepSeekV3 m, int vocab) throws Exception {
        int threads = dev.jseek.kernels.Parallel.threads();
        BatchEngine engine = runner.model().engine();
        System.out.printf("%nsame work as llama-batched-bench: B sequences, each its own %d-token prompt, %d decode steps, greedy; %d threads; "
                + "engine: %d prefill tokens per step%s%n", promptLen, maxTokens, threads, engine.options().prefillTokens(),
                engine.stacksPrefill() ? " (stacked)" : " (one chunk per step)");
        List<EngineBatchBench.Row> base = new java.util.ArrayList<>();
        // per round: jseek's row for each level, then the peer's lines (a process of its own): this host's speed drifts by
        // 20% and more within minutes, so rows timed minutes apart are compared only within their round
        List<List<EngineBatchBench.Row>> ours = new java.util.ArrayList<>();
        List<List<LlamaBatchedBench.Row>> peers = new java.util.ArrayList<>();
        warmUp(engine, vocab);
        BatchEngine baseline = null;
        try {
            if (baselinePrefillTokens != null) {
                // the same model, run by one engine at a time (the other waits idle): the model is not thread-safe
                baseline = new BatchEngine(m, engine.options().withPrefillTokens(baselinePrefillTokens));
                warmUp(baseline, vocab);
            }
            for (int round = 0; round < rounds; round++) {
                List<EngineBatchBench.Row> mine = new java.util.ArrayList<>();
                for (int b : clients) {
                    mine.add(EngineBatchBench.run(engine, vocab, promptLen, maxTokens, b, 1000 + b));
                    if (baseline != null && round == 0) base.add(EngineBatchBench.run(baseline, vocab, promptLen, maxTokens, b, 1000 + b));
                }
                ours.add(mine);
                if (llamaBatchedBench != null) {
                    try {
                        peers.add(LlamaBatchedBench.run(llamaBatchedBench, model, promptLen, maxTokens, clients, threads, peerTimeout));
                    } catch (java.io.IOException e) {
                        throw new UserException("--llama-batched-bench: " + e.getMessage(), e);
                    }
                }
                if (rounds > 1) {
                    StringBuilder line = new StringBuilder("round " + (round + 1) + " of " + rounds + ": jseek decode t/s");
                    for (EngineBatchBench.Row o : mine) line.append(String.format(" %.1f", o.decodeTokensPerSecond()));
                    if (!peers.isEmpty()) {
                        line.append("; llama S_TG");
                        for (LlamaBatchedBench.Row p : peers.getLast()) line.append(String.format(" %.1f", p.speedTg()));
                        line.append("; decode x");
                        for (int i = 0; i < mine.size(); i++)
                            line.append(String.format(" %.2f", mine.get(i).decodeTokensPerSecond() / peers.getLast().get(i).speedTg()));
                    }
                    System.err.println(line);
                }
            }
        } finally {
            if (baseline != null) baseline.close();
        }
        if (baseline != null) {
            System.out.printf("baseline engine, %d prefill tokens per step%s, run in turn with each row (x = baseline time / this engine's; "
                    + "decode x = this engine's / baseline's)%n", baselinePrefillTokens, baselinePrefillTokens == 0 ? " (one chunk per step)" : "");
            System.out.printf("%6s %12s %14s %18s %10s %12s %10s%n", "B", "base T s", "base 1st tok s", "base decode t/s", "T x", "1st tok x", "decode x");
            for (int i = 0; i < base.size(); i++) {
                EngineBatchBench.Row o = ours.get(0).get(i), p = base.get(i);
                System.out.printf("%6d %12.3f %14.3f %18.1f %10.2f %12.2f %10.2f%n", p.pl(), p.seconds(), p.firstTokenSeconds(),
                        p.decodeTokensPerSecond(), p.seconds() / o.seconds(), p.firstTokenSeconds() / o.firstTokenSeconds(),
                        o.decodeTokensPerSecond() / p.decodeTokensPerSecond());
            }
        }
        if (rounds > 1) System.out.printf("medians of %d rounds (decode x: the median of the rounds' own ratios)%n", rounds);
        System.out.printf("%6s %12s %14s %18s", "B", "jseek T s", "jseek 1st tok s", "jseek decode t/s");
        if (!peers.isEmpty()) System.out.printf(" %12s %14s %18s %10s", "llama T s", "llama T_PP s", "llama S_TG t/s", "decode x");
        System.out.println();
        for (int i = 0; i < clients.length; i++) {
            int k = i;
            System.out.printf("%6d %12.3f %14.3f %18.1f", clients[i], median(ours, o -> o.get(k).seconds()),
                    median(ours, o -> o.get(k).firstTokenSeconds()), median(ours, o -> o.get(k).decodeTokensPerSecond()));
            if (!peers.isEmpty()) {
                double[] ratio = new double[peers.size()];
                for (int r = 0; r < ratio.length; r++) ratio[r] = ours.get(r).get(k).decodeTokensPerSecond() / peers.get(r).get(k).speedTg();
                System.out.printf(" %12.3f %14.3f %18.1f %10.2f", median(peers, p -> p.get(k).t()), median(peers, p -> p.get(k).tPp()),
                        median(peers, p -> p.get(k).speedTg()), dev.jseek.bench.InferBench.median(ratio));
            }
            System.out.println();
        }
        if (!peers.isEmpty())
            System.out.println("(llama: llama-batched-bench " + llamaBatchedBench + ", a separate process run after jseek's rows"
                    + (rounds > 1 ? " in each round" : "") + "; decode x = jseek / llama)");
        System.out.println();
    }

    private static <T> double median(List<T> rounds, java.util.function.ToDoubleFunction<T> f) {
        return dev.jseek.bench.InferBench.median(rounds.stream().mapToDouble(f).toArray());
    }

    @Override public Integer call() throws Exception {
        if ((model == null) == (url == null)) throw new UserException("give --model (serve it here) or --url (bench a running server)");
        if (warmup < 0) throw new UserException("--warmup must be >= 0, got " + warmup);
        if (rounds < 1 || rounds > 100) throw new UserException("--rounds: in 1..100, got " + rounds);
        if (!(warmupSeconds >= 0 && warmupSeconds <= 3600)) throw new UserException("--warmup-seconds: in 0..3600, got " + warmupSeconds);
        if (perClient < 1) throw new UserException("--requests must be >= 1, got " + perClient);
        if (promptLen < 1) throw new UserException("--prompt-len must be >= 1, got " + promptLen);
        if (maxTokens < 1) throw new UserException("--max-tokens must be >= 1, got " + maxTokens);
        if (prefillTokens != null && prefillTokens < 0) throw new UserException("--prefill-tokens must be >= 0, got " + prefillTokens);
        if (baselinePrefillTokens != null && baselinePrefillTokens < 0)
            throw new UserException("--baseline-prefill-tokens must be >= 0, got " + baselinePrefillTokens);
        if (baselinePrefillTokens != null && model == null) throw new UserException("--baseline-prefill-tokens needs --model (an in-process engine)");
        for (int c : clients) if (c < 1) throw new UserException("--clients: each level must be >= 1, got " + c);
        if (llamaBatchedBench != null) {
            if (model == null || !model.getFileName().toString().endsWith(".gguf"))
                throw new UserException("--llama-batched-bench runs the peer on the same file: give --model FILE.gguf");
            if (!java.nio.file.Files.isExecutable(llamaBatchedBench))
                throw new UserException("--llama-batched-bench: " + llamaBatchedBench + " is not an executable file (tools/build-llama-cpp.sh builds it)");
        }
        OpenAiServer server = null;
        ModelRunner runner = null;
        String base = url, name = "bench";
        int vocab = 1000;
        DeepSeekV3 loaded = null;
        try {
            if (model != null) {
                if (!ModelSource.isModel(model)) throw new UserException("--model: " + model + " is not a model directory or .gguf file");
                Tokenizer tok = TokenizerFiles.find(model, tokenizerPath, true);
                DeepSeekV3 m = ModelSource.open(model);
                loaded = m;
                vocab = Math.min(tok.vocabSize(), m.config.vocabSize());
                if (promptLen + maxTokens > m.config.maxPositionEmbeddings())
                    throw new UserException("--prompt-len + --max-tokens = " + (promptLen + maxTokens) + " exceeds the model's context of "
                            + m.config.maxPositionEmbeddings() + " tokens");
                int most = java.util.Arrays.stream(clients).max().orElse(1);
                if (most > maxBatch) System.out.printf("note: --clients %d exceeds --max-batch %d: the rest wait in the queue%n", most, maxBatch);
                try {
                    runner = new ModelRunner(m, tok, dev.jseek.api.PromptStart.NONE, EngineOptions.defaults().withMaxBatch(maxBatch)
                            .withMaxQueue(1024).withPrefixCache(!noPrefixCache).withSpeculative(speculative)
                            .withPrefillTokens(prefillTokens != null ? prefillTokens : EngineOptions.DEFAULT_PREFILL_TOKENS));
                } catch (IllegalArgumentException e) {
                    m.close();
                    throw new UserException(e.getMessage(), e);
                }
                PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
                server = OpenAiServer.start(runner, new ServerOptions("127.0.0.1", 0, name, new SamplingParams.Defaults(maxTokens, 0f), quiet));
                base = server.url();
            }
            int[] prompt = new int[promptLen];
            Random r = new Random(1);
            for (int i = 0; i < promptLen; i++) prompt[i] = 3 + r.nextInt(Math.max(1, vocab - 3));
            System.out.printf("jseek bench serve: %s, prompt %d tokens, max_tokens %d, greedy, %d requests per client%n",
                    model != null ? model + " (in-process, max batch " + maxBatch + (noPrefixCache ? ", no prefix cache" : "") + ")" : base,
                    promptLen, maxTokens, perClient);
            ServeBench.run(base, name, 1, 1, prompt, maxTokens); // warm-up (JIT)
            if (runner != null) batchedTable(runner, loaded, vocab);
            System.out.printf("%8s %9s %12s %12s %10s %10s %10s %10s %7s%n", "clients", "requests", "out tok/s", "tokens",
                    "TTFT p50", "TTFT p99", "ITL p50", "ITL p99", "errors");
            for (int c : clients) {
                ServeBench.Level l = ServeBench.run(base, name, c, perClient, prompt, maxTokens);
                System.out.printf("%8d %9d %12.1f %12d %8.0fms %8.0fms %8.1fms %8.1fms %7d%n", l.clients(), l.requests(),
                        l.tokensPerSecond(), l.completionTokens(), l.ttftP50Ms(), l.ttftP99Ms(), l.itlP50Ms(), l.itlP99Ms(), l.errors());
            }
            if (model != null) System.out.printf("peak RSS of this process (server + clients): %d MiB%n", ServeBench.peakRssMiB());
            if (runner != null && speculative) {
                var st = runner.stats();
                System.out.printf("MTP drafts accepted: %d of %d (%.1f%%)%n", st.accepted(), st.drafted(),
                        st.drafted() == 0 ? 0.0 : 100.0 * st.accepted() / st.drafted());
            }
            return 0;
        } finally {
            if (server != null) server.close();
            if (runner != null) runner.close();
        }
    }
}
