package dev.jseek.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jseek.gguf.GgufExporter;
import dev.jseek.gguf.GgufFile;
import dev.jseek.gguf.GgufTensorInfo;
import dev.jseek.gguf.QuantMix;
import dev.jseek.infer.Generator;
import dev.jseek.infer.Prefill;
import dev.jseek.infer.Sampler;
import dev.jseek.kernels.Parallel;
import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.KvCache;
import dev.jseek.model.ModelConfig;
import dev.jseek.model.ParameterCount;
import dev.jseek.model.RandomInit;
import dev.jseek.model.StepProfile;
import dev.jseek.model.TensorSchema;
import dev.jseek.source.ModelSource;
import dev.jseek.tensor.DType;
import dev.jseek.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * CPU inference speed against llama.cpp on the same GGUF files in the same run (issue 11 §3): the DeepSeek-V3-shaped
 * model of {@code deepseek-v3-1p5b.json} (shipped beside this class: hidden 1536, 10 layers of which 1 dense, 64
 * routed experts top-6 in 8 groups keep 4, 1 shared, vocab 32768; 1.5B parameters, random weights from a seed)
 * written once to a cache directory at BF16 (the {@code jseek init} layout) and exported at each requested type
 * ({@code jseek export}: BF16, Q8_0, Q4_K_M), or any GGUF the caller names. Per file: prefill tokens/s of a
 * {@code prompt}-token prompt (random ids, empty cache) and decode tokens/s of {@code gen} tokens after a 1-token
 * prompt, for jseek (mean over {@code reps} runs after untimed runs until {@code warmupSeconds} have passed, at least
 * one: the JIT compiles a method after thousands of calls, and much of a small model's step is code called a few times
 * per token) and for {@code llama-bench} (its pp/tg tests,
 * same threads and repetitions); plus decode's effective bandwidth: the weight bytes one decode step reads (every
 * tensor but the embedding table, routed experts at top-k / n_routed of their bytes) times tokens/s, against the
 * {@link MemoryTriad} measured at the start of the run.
 *
 * @param cache      directory of the generated model files
 * @param files      GGUF files to measure instead of the generated model (empty: the generated model)
 * @param types      export types of the generated model
 * @param threads    jseek pool size (already applied) and llama-bench {@code -t}
 * @param llamaBench path of a llama-bench binary, or null to measure jseek alone
 * @param triadMib   MiB of each of the triad's three arrays
 * @param warmupSeconds untimed runs of both tests before the timed ones, until this many seconds have passed (at least one)
 * @param profile    after the timed runs, one more decode run and one more prefill per file with the {@link StepProfile} timers, printed
 *                   after the table
 * @param log        progress messages
 */
public record InferBench(Path cache, List<Path> files, List<QuantMix> types, int threads, int prompt, int gen, int reps, long seed,
                         Path llamaBench, int triadMib, boolean profile, double warmupSeconds, PrintStream log) {
    /** The shipped model config's resource name. */
    public static final String CONFIG = "deepseek-v3-1p5b.json";

    /** The shipped config. */
    public static ModelConfig config() {
        try (InputStream in = InferBench.class.getResourceAsStream(CONFIG)) {
            if (in == null) throw new IllegalStateException("resource " + CONFIG + " is missing from the jar");
            return ModelConfig.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), Path.of(CONFIG));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One measured file. */
    record Row(String label, Path file, long fileBytes, long decodeBytes, double jseekPrefill, double jseekDecode, LlamaBench.Result peer,
               double decodeRatio, double prefillRatio, String profile) {}

    /** One file's means, the peer's (null without one), and the medians of the per-round ratios jseek / llama.cpp. */
    record Measured(double prefill, double decode, LlamaBench.Result peer, double decodeRatio, double prefillRatio) {}

    /** The median of v (the mean of the middle two for an even count); NaN for none. */
    public static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n == 0 ? Double.NaN : n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    public void run(PrintStream out) {
        List<Path> ggufs = ggufs();
        log.printf("memory triad (a = b + s c, %d x %d MiB, %d threads)...%n", 3, triadMib, threads);
        double triad = MemoryTriad.gbPerSecond(triadMib, 5);
        List<Row> rows = new ArrayList<>();
        for (Path f : ggufs) {
            long decodeBytes = decodeBytes(f);
            log.printf("jseek on %s%s...%n", f, llamaBench != null ? ", each timed run followed by one llama-bench repetition" : "");
            String[] prof = new String[1];
            Measured j = measure(f, prof);
            rows.add(new Row(label(f), f, fileSize(f), decodeBytes, j.prefill(), j.decode(), j.peer(), j.decodeRatio(), j.prefillRatio(), prof[0]));
        }
        print(out, triad, rows);
        for (Row r : rows)
            if (r.profile() != null) out.printf("%njseek decode step on %s (%d tokens after a 1-token prompt; * = weight GEMV):%n%s", r.label(), gen, r.profile());
    }

    private void print(PrintStream out, double triad, List<Row> rows) {
        out.printf("%d threads; memory triad %.1f GB/s; prefill: %d-token prompt; decode: %d tokens after a 1-token prompt; "
                + "jseek mean of %d runs after at least %.1f s of warm-up runs%s%n", threads, triad, prompt, gen, reps,
                warmupSeconds, llamaBench == null ? "" : ", each run followed by one llama-bench repetition (mean of " + reps + ")");
        if (!rows.isEmpty() && rows.get(0).peer() != null) out.printf("llama.cpp: %s, %s%n", llamaBench, rows.get(0).peer().build());
        out.printf("%n%-16s %8s %10s | %14s %14s %6s | %13s %13s %6s | %9s %9s %8s%n", "file", "GB", "GB/token",
                "prefill jseek", "llama.cpp", "ratio", "decode jseek", "llama.cpp", "ratio", "jseek GB/s", "llama GB/s", "of triad");
        for (Row r : rows) {
            LlamaBench.Result p = r.peer();
            double jGb = r.decodeBytes() * r.jseekDecode() / 1e9;
            out.printf("%-16s %8.2f %10.3f | %14.1f %14s %6s | %13.1f %13s %6s | %9.1f %9s %7.0f%%%n", r.label(), r.fileBytes() / 1e9,
                    r.decodeBytes() / 1e9, r.jseekPrefill(), p == null ? "-" : String.format("%.1f", p.prefillTokensPerSecond()),
                    p == null ? "-" : String.format("%.2fx", r.prefillRatio()), r.jseekDecode(),
                    p == null ? "-" : String.format("%.1f", p.decodeTokensPerSecond()),
                    p == null ? "-" : String.format("%.2fx", r.decodeRatio()), jGb,
                    p == null ? "-" : String.format("%.1f", r.decodeBytes() * p.decodeTokensPerSecond() / 1e9), 100 * jGb / triad);
        }
        out.println("(ratio = the median over rounds of jseek / llama.cpp in the same round; GB/token = weight bytes one decode step reads; "
                + "of triad = jseek's decode GB/s over the triad's)");
    }

    /**
     * jseek's mean prefill and decode tokens/s on f after the warm-up; with a peer, each timed run is followed by one
     * llama-bench repetition (a process of its own, on the same file), so that both sides of a round see the host in
     * the same state: this host's speed drifts by 20% and more within minutes, which a block of jseek runs followed by
     * a block of llama.cpp runs turns into a bias. The ratios reported are the medians of the per-round ratios. With
     * {@link #profile}, the decode step's breakdown into prof[0].
     */
    private Measured measure(Path f, String[] prof) {
        try (DeepSeekV3 m = ModelSource.open(f)) {
            int vocab = m.config.vocabSize();
            SplittableRandom r = new SplittableRandom(seed);
            int[] ids = new int[prompt];
            for (int i = 0; i < prompt; i++) ids[i] = r.nextInt(vocab);
            int[] one = {ids[0]};
            Generator g = new Generator(m, AttnMode.ABSORB);
            // untimed runs until warmupSeconds have passed (at least one): the JIT compiles a method after thousands of
            // calls, and much of a small model's step is code called a few times per token
            long w0 = System.nanoTime();
            int warm = 0;
            double first = 0, lastWarm = 0;
            do {
                double[] pd = once(m, g, ids, one);
                if (warm++ == 0) first = pd[1];
                lastWarm = pd[1];
            } while (System.nanoTime() - w0 < warmupSeconds * 1e9);
            log.printf("  warm-up: %d runs in %.1f s, decode %.1f tokens/s in the first, %.1f in the last%n", warm,
                    (System.nanoTime() - w0) / 1e9, first, lastWarm);
            double pre = 0, dec = 0;
            double[] lpp = new double[reps], ltg = new double[reps], rpp = new double[reps], rtg = new double[reps];
            String build = null;
            for (int rep = 1; rep <= reps; rep++) {
                double[] pd = once(m, g, ids, one);
                // the share of the decode's parallel tasks the calling thread ran itself: 100 / threads when every
                // worker took its share; more when a worker was away (another process on its core)
                log.printf("  run %d of %d: prefill %.1f, decode %.1f tokens/s (decode tasks run by the calling thread: %.0f%%)%n",
                        rep, reps, pd[0], pd[1], pd[2]);
                pre += pd[0] / reps;
                dec += pd[1] / reps;
                if (llamaBench != null) {
                    String before = TrainBench.loadAverage();
                    LlamaBench.Result l = LlamaBench.run(llamaBench, f, threads, prompt, gen, 1);
                    build = l.build();
                    lpp[rep - 1] = l.prefillTokensPerSecond();
                    ltg[rep - 1] = l.decodeTokensPerSecond();
                    rpp[rep - 1] = pd[0] / lpp[rep - 1];
                    rtg[rep - 1] = pd[1] / ltg[rep - 1];
                    // llama.cpp's multi-threaded decode meets at a barrier after every graph node (hundreds per token):
                    // one other runnable thread on the same cores costs it several times its speed (docs/quantization.md),
                    // so say how each repetition went and what else ran
                    log.printf("    llama-bench: prefill %.1f, decode %.1f tokens/s; this round's ratios: prefill %.2fx, decode %.2fx "
                            + "(load average before / after: %s / %s)%n", lpp[rep - 1], ltg[rep - 1], rpp[rep - 1], rtg[rep - 1],
                            before, TrainBench.loadAverage());
                }
            }
            LlamaBench.Result peer = llamaBench == null ? null : new LlamaBench.Result(Arrays.stream(lpp).average().orElse(Double.NaN),
                    Arrays.stream(ltg).average().orElse(Double.NaN), build, lpp, ltg);
            if (profile) {
                boolean was = StepProfile.enabled();
                StepProfile.reset();
                StepProfile.enable(true);
                long t0 = System.nanoTime();
                g.generate(one, gen + 1, new Sampler(0, 0, 1, seed), new int[0], null);
                long wall = System.nanoTime() - t0;
                StepProfile.enable(was);
                java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
                PrintStream ps = new PrintStream(buf, true, StandardCharsets.UTF_8);
                StepProfile.print(ps, gen + 1, wall);       // gen + 1 forwards: the 1-token prompt and gen decode steps
                // and one prefill of the prompt, per prompt token (the 12M model's prefill is made of small products:
                // where it spends its time, docs/quantization.md "Prefill of the 12M model")
                StepProfile.reset();
                StepProfile.enable(true);
                KvCache cache = m.newCache(prompt, AttnMode.ABSORB);
                t0 = System.nanoTime();
                Prefill.lastLogits(m, ids, 0, cache, Prefill.chunk());
                wall = System.nanoTime() - t0;
                StepProfile.enable(was);
                ps.printf("%njseek prefill of the %d-token prompt (per prompt token):%n", prompt);
                StepProfile.print(ps, prompt, wall);
                prof[0] = buf.toString(StandardCharsets.UTF_8);
            }
            return new Measured(pre, dec, peer, peer == null ? Double.NaN : median(rtg), peer == null ? Double.NaN : median(rpp));
        }
    }

    /** One prefill of ids into an empty cache and one decode of gen tokens after {@code one}: {prefill, decode} tokens/s. */
    private double[] once(DeepSeekV3 m, Generator g, int[] ids, int[] one) {
        KvCache cache = m.newCache(prompt, AttnMode.ABSORB);
        long t0 = System.nanoTime();
        Prefill.lastLogits(m, ids, 0, cache, Prefill.chunk());
        double p = prompt / ((System.nanoTime() - t0) / 1e9);
        boolean counting = !StepProfile.enabled();
        if (counting) Parallel.stats(true);
        Generator.Result res = g.generate(one, gen + 1, new Sampler(0, 0, 1, seed), new int[0], null);
        long[] st = Parallel.statsSnapshot();
        if (counting) Parallel.stats(false);
        return new double[] {p, res.decodeTokensPerSecond(), st[0] == 0 ? 0 : 100.0 * st[1] / st[0]};
    }

    /** The files to measure: those named, else the generated model at every requested type (written when missing). */
    public List<Path> ggufs() { return files.isEmpty() ? generated() : files; }

    /** The generated model at every requested type, written when missing. */
    private List<Path> generated() {
        ModelConfig c = config();
        TensorSchema schema = new TensorSchema(c);
        Path dir = cache.resolve("deepseek-v3-1p5b-seed" + seed);
        Path hf = dir.resolve("hf");
        try {
            Files.createDirectories(dir);
            if (!Files.isRegularFile(hf.resolve("config.json"))) {
                log.printf("writing the random model (%s parameters, %s active per token, seed %d) to %s...%n",
                        ParameterCount.human(schema.mainParameters()), ParameterCount.human(schema.activeParameters()), seed, hf);
                Path tmp = dir.resolve("hf.tmp");
                deleteTree(tmp);
                RandomInit.write(c, tmp, seed, c.initializerRange(), DType.BF16);
                writeTokenizer(tmp.resolve("tokenizer.json"));
                deleteTree(hf);
                Files.move(tmp, hf, StandardCopyOption.ATOMIC_MOVE);
            }
            List<Path> out = new ArrayList<>();
            for (QuantMix t : types) {
                Path g = dir.resolve("model-" + t.cliName() + ".gguf");
                if (!Files.isRegularFile(g)) {
                    log.printf("exporting %s...%n", g);
                    // rewritten each time: a cache from before the pre-tokenizer was written has a tokenizer export refuses
                    Path tok = hf.resolve("tokenizer.json.tmp");
                    writeTokenizer(tok);
                    Files.move(tok, hf.resolve("tokenizer.json"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                    Path tmp = dir.resolve("model-" + t.cliName() + ".gguf.tmp");
                    GgufExporter.export(hf, tmp, t, false, hf.resolve("tokenizer.json"));
                    Files.move(tmp, g, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                }
                out.add(g);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("writing the bench model under " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * A minimal byte-level BPE tokenizer.json (256 byte tokens, no merges, BOS/EOS as added tokens) for the GGUF
     * vocabulary keys: llama.cpp needs a vocabulary to load the file; the benchmark feeds token ids, never text.
     */
    static void writeTokenizer(Path p) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode(), model = root.putObject("model"), vocab = model.putObject("vocab");
        root.set("pre_tokenizer", Tokenizer.deepSeekV3PreTokenizer()); // export writes only the family's
        model.put("type", "BPE");
        for (int b = 0; b < 256; b++) vocab.put(byteToken(b), b + 2);
        model.putArray("merges");
        ArrayNode added = root.putArray("added_tokens");
        added.addObject().put("id", 0).put("content", "<｜begin▁of▁sentence｜>").put("special", true);
        added.addObject().put("id", 1).put("content", "<｜end▁of▁sentence｜>").put("special", true);
        Files.writeString(p, json.writeValueAsString(root));
    }

    /** GPT-2's byte-to-unicode map: printable bytes stand for themselves, the others map to U+0100 onwards. */
    static String byteToken(int b) {
        boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        if (printable) return String.valueOf((char) b);
        int n = 0;
        for (int i = 0; i < b; i++) if (!((i >= '!' && i <= '~') || (i >= 0xA1 && i <= 0xAC) || (i >= 0xAE && i <= 0xFF))) n++;
        return String.valueOf((char) (256 + n));
    }

    /** Bytes of the weights one decode step reads: all tensors but the embedding table, routed experts at k / n. */
    public static long decodeBytes(Path f) {
        try (GgufFile g = GgufFile.open(f)) {
            long k = g.get("deepseek2.expert_used_count") == null ? 0 : g.get("deepseek2.expert_used_count").asLong();
            long n = g.get("deepseek2.expert_count") == null ? 1 : g.get("deepseek2.expert_count").asLong();
            long total = 0;
            for (GgufTensorInfo t : g.tensors()) {
                if (t.name().equals("token_embd.weight")) continue;
                total += t.name().contains("_exps") ? t.byteSize() * k / Math.max(1, n) : t.byteSize();
            }
            return total;
        }
    }

    private static String label(Path f) {
        String s = f.getFileName().toString();
        return s.startsWith("model-") && s.endsWith(".gguf") ? s.substring(6, s.length() - 5) : s;
    }

    private static long fileSize(Path f) {
        try {
            return Files.size(f);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (var s = Files.walk(p)) {
            for (Path q : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }

    /** The pool size the bench runs with (for the CLI's check). */
    public static int poolThreads() { return Parallel.threads(); }

    @Override public String toString() { return "InferBench" + Arrays.asList(cache, files, types, threads, prompt, gen, reps, seed, llamaBench, triadMib); }
}
