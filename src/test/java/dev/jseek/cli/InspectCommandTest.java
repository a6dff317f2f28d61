package dev.jseek.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code jseek inspect}. Oracles: the DeepSeek-V3 report's 671B total and 37B active parameters, to the digit as
 * counted from its shapes; for the family's published config.json files (src/test/resources/family), the counts
 * tools/count_params.py takes from the PyTorch reference model's parameter list (counts.json).
 */
class InspectCommandTest {
    @ParameterizedTest(name = "{0}")
    @CsvSource({"deepseek-v2.json,deepseek_v2,softmax,group_limited_greedy", "deepseek-v2-lite.json,deepseek_v2,softmax,greedy",
            "moonlight-16b-a3b.json,deepseek_v3,sigmoid,noaux_tc", "kimi-k2.json,kimi_k2,sigmoid,noaux_tc",
            "deepseek-v3.json,deepseek_v3,sigmoid,noaux_tc"})
    void familyConfigsCountLikeThePyTorchReference(String file, String type, String scoring, String method) throws Exception {
        Path dir = Path.of("src/test/resources/family");
        JsonNode want = new ObjectMapper().readTree(dir.resolve("counts.json").toFile()).get(file);
        ExportCommandTest.Run r = ExportCommandTest.run("inspect", "--config", dir.resolve(file).toString());
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains(String.format(Locale.ROOT, "total parameters (main model):  %,d (", want.get("total").asLong())), r.out());
        assertTrue(r.out().contains(String.format(Locale.ROOT, "active per token (main model):  %,d (", want.get("active").asLong())), r.out());
        assertTrue(r.out().contains(String.format(Locale.ROOT, "MTP parameters (unique):        %,d (", want.get("mtp").asLong())), r.out());
        assertTrue(r.out().contains("model_type " + type + ", router: " + scoring + " scores, " + method + ","), r.out());
    }

    @Test
    void anUnknownRouterNamesTheFileFieldAndValue(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("config.json");
        java.nio.file.Files.writeString(f, java.nio.file.Files.readString(Path.of("src/test/resources/family/deepseek-v2-lite.json"))
                .replace("\"greedy\"", "\"top_p_greedy\""));
        ExportCommandTest.Run r = ExportCommandTest.run("inspect", "--config", f.toString());
        assertNotEquals(0, r.rc());
        assertTrue(r.err().contains(f + ": field 'topk_method': \"top_p_greedy\" is not supported"), r.err());
        assertFalse(r.err().contains("\tat "), r.err());
    }

    @Test
    void printsTheReportsParameterCountsFor671B() {
        ExportCommandTest.Run r = ExportCommandTest.run("inspect", "--preset", "671b");
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("total parameters (main model):  671,026,419,200 (671.03B)\n"), r.out());
        assertTrue(r.out().contains("active per token (main model):  37,552,297,472 (37.55B)\n"), r.out());
        assertTrue(r.out().contains("MTP parameters (unique):        11,610,068,224 (11.61B)\n"), r.out());
        assertTrue(r.out().contains("KV cache per token (BF16):      70,272 bytes latent"), r.out());
    }
}
