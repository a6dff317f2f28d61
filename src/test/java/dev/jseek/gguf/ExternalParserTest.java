package dev.jseek.gguf;

import static dev.jseek.gguf.GgufTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.ExternalPeers;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An independent GGUF parser reads what jseek writes: the npm package {@code @huggingface/gguf} (installed by
 * tools/fetch-test-data.sh into the npm cache) run by {@code node tools/gguf-dump.cjs}. Every metadata key (type,
 * array element type, value), every tensor info (name, n_dims, dims, ggml type, offset) and the data offset must
 * equal jseek's reading. Without node (>= 20) or the package: skipped locally, a failure in CI ({@link ExternalPeers}).
 */
class ExternalParserTest {
    static Path npmCache() {
        String env = System.getenv("JSEEK_NPM_CACHE");
        return env != null && !env.isEmpty() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache/jseek/npm");
    }

    /**
     * The node binary: the one tools/fetch-test-data.sh installs into the npm cache when the system's node is older
     * than @huggingface/gguf needs (20), else {@code node} on PATH.
     */
    static String node(Path npm) {
        Path local = npm.resolve("node_modules/.bin/node");
        return Files.isExecutable(local) ? local.toString() : "node";
    }

    /** The major version of {@code node}, or 0 when it does not run. */
    static int nodeMajor(String node) {
        try {
            Process p = new ProcessBuilder(node, "--version").redirectErrorStream(true).start();
            String v = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(20, TimeUnit.SECONDS) || p.exitValue() != 0 || !v.matches("v\\d+\\..*")) return 0;
            return Integer.parseInt(v.substring(1, v.indexOf('.')));
        } catch (IOException | InterruptedException | NumberFormatException e) {
            return 0;
        }
    }

    /** DeepSeek-V3's tokenizer.json pre_tokenizer. */
    static final String DS3_PRE_TOKENIZER = """
            {"type": "Sequence", "pretokenizers": [
              {"type": "Split", "pattern": {"Regex": "\\\\p{N}{1,3}"}, "behavior": "Isolated", "invert": false},
              {"type": "Split", "pattern": {"Regex": "[一-龥぀-ゟ゠-ヿ]+"}, "behavior": "Isolated", "invert": false},
              {"type": "Split", "pattern": {"Regex": "[!\\"#$%&'()*+,\\\\-./:;<=>?@\\\\[\\\\\\\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\\\p{L}\\\\p{P}\\\\p{S}]?[\\\\p{L}\\\\p{M}]+| ?[\\\\p{P}\\\\p{S}]+[\\r\\n]*|\\\\s*[\\r\\n]+|\\\\s+(?!\\\\S)|\\\\s+"}, "behavior": "Isolated", "invert": false},
              {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]}""";

    /** A small byte-level BPE tokenizer.json: 120 single-character tokens, 6 merges, 2 added tokens. */
    static Path tokenizer(Path dir) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode(), model = root.putObject("model"), vocab = model.putObject("vocab");
        model.put("type", "BPE");
        for (int i = 0; i < 120; i++) vocab.put(i < 94 ? String.valueOf((char) ('!' + i)) : "\u0120" + (char) ('a' + i - 94), i);
        ArrayNode merges = model.putArray("merges");
        for (String m : new String[] {"a b", "c d", "ab cd", "\u0120a b", "e f", "g h"}) merges.add(m);
        root.set("pre_tokenizer", json.readTree(DS3_PRE_TOKENIZER)); // the pre-tokenizer GGUF labels "deepseek-v3"
        ArrayNode added = root.putArray("added_tokens");
        added.addObject().put("id", 120).put("content", "<｜begin▁of▁sentence｜>").put("special", true);
        added.addObject().put("id", 121).put("content", "<user>").put("special", false);
        Path p = dir.resolve("tokenizer.json");
        Files.writeString(p, json.writeValueAsString(root));
        return p;
    }

    @Test
    void huggingfaceGgufReadsJseeksExportLikeJseek(@TempDir Path tmp) throws Exception {
        Path npm = npmCache(), pkg = npm.resolve("node_modules/@huggingface/gguf/package.json");
        ExternalPeers.require(Files.isRegularFile(pkg), "npm package @huggingface/gguf is not installed in " + npm);
        String node = node(npm);
        int major = nodeMajor(node);
        ExternalPeers.require(major >= 20, "node >= 20 (for @huggingface/gguf) is not available: '" + node + "' "
                + (major == 0 ? "does not run" : "is version " + major));
        Path out = tmp.resolve("m.gguf");
        GgufExporter.export(parity("yarn_qlora"), out, GgmlType.Q8_0, true, tokenizer(tmp));
        Process p = new ProcessBuilder(node, Path.of("tools/gguf-dump.cjs").toAbsolutePath().toString(), npm.toString(), out.toString())
                .redirectError(tmp.resolve("node.err").toFile()).start();
        byte[] stdout = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "node timed out");
        assertEquals(0, p.exitValue(), Files.readString(tmp.resolve("node.err")));
        JsonNode js = new ObjectMapper().readTree(new String(stdout, StandardCharsets.UTF_8));
        try (GgufFile f = GgufFile.open(out)) {
            assertEquals(3, js.get("version").asInt());
            assertEquals(f.dataStart(), js.get("dataOffset").asLong());
            JsonNode md = js.get("metadata");
            assertEquals(f.metadata().size(), md.size());
            for (Map.Entry<String, GgufValue> e : f.metadata().entrySet()) {
                JsonNode n = md.get(e.getKey());
                assertNotNull(n, e.getKey());
                GgufValue v = e.getValue();
                assertEquals(v.type().id, n.get("type").asInt(), e.getKey());
                if (v.type() == GgufValueType.ARRAY) assertEquals(v.elementType().id, n.get("subType").asInt(), e.getKey());
                same(v, n.get("value"), e.getKey());
            }
            JsonNode ts = js.get("tensors");
            assertEquals(f.tensors().size(), ts.size());
            int i = 0;
            for (GgufTensorInfo t : f.tensors()) {
                JsonNode n = ts.get(i++);
                assertEquals(t.name(), n.get("name").asText());
                assertEquals(t.rank(), n.get("n_dims").asInt(), t.name());
                long[] dims = t.dims();
                for (int d = 0; d < dims.length; d++) assertEquals(dims[d], n.get("shape").get(d).asLong(), t.name() + " dim " + d);
                assertEquals(t.type().id, n.get("dtype").asInt(), t.name());
                assertEquals(t.offset(), n.get("offset").asLong(), t.name());
            }
            assertEquals("gpt2", md.get("tokenizer.ggml.model").get("value").asText());
            assertEquals("<｜begin▁of▁sentence｜>", md.get("tokenizer.ggml.tokens").get("value").get(120).asText());
        }
    }

    private static void same(GgufValue v, JsonNode n, String key) {
        switch (v.type()) {
            case FLOAT32, FLOAT64 -> assertEquals(v.asDouble(), n.asDouble(), 0.0, key);
            case BOOL -> assertEquals(v.asBool(), n.asBoolean(), key);
            case STRING -> assertEquals(v.asString(), n.asText(), key);
            case UINT64 -> assertEquals(Long.toUnsignedString((Long) v.value()), n.asText(), key);
            case ARRAY -> {
                List<GgufValue> l = v.asList();
                assertEquals(l.size(), n.size(), key);
                for (int i = 0; i < l.size(); i++) same(l.get(i), n.get(i), key + "[" + i + "]");
            }
            default -> assertEquals(v.asLong(), n.asLong(), key);
        }
    }
}
