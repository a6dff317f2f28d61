package dev.jseek.model;

import static org.junit.jupiter.api.Assertions.*;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Oracle: the parameter totals of docs/architecture.md §2.1, §2.2, recomputed there by hand from the 671B shapes. */
class WeightLayoutTest {
    static ModelConfig config671b() throws Exception {
        try (InputStream in = WeightLayoutTest.class.getResourceAsStream("/model/deepseek-v3-671b-config.json")) {
            return ModelConfig.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), Path.of("deepseek-v3-671b-config.json"));
        }
    }

    @Test
    void countsThe671BModelAsTheSpecDoes() throws Exception {
        WeightLayout w = new WeightLayout(config671b());
        assertEquals(671_026_419_200L, w.mainParameters());
        assertEquals(37_552_297_472L, w.activeParameters());
        assertEquals(11_610_068_224L, w.mtpParameters());
        assertEquals(684_489_845_504L, w.checkpointParameters());
        assertEquals(70_272L, w.kvCacheBytesPerToken(2));
        // 91,991 tensors incl. scale_inv: 14 attention/norm tensors per layer incl. 5 scales, etc. (docs/architecture.md §2.2)
        long scales = w.tensors().stream().filter(t -> t.role().fp8InRelease()).count();
        assertEquals(91_991L, w.tensors().size() + scales);
    }

    @Test
    void qProjReplacesTheQueryLatentWhenQLoraRankIsNull() throws Exception {
        String json = new String(WeightLayoutTest.class.getResourceAsStream("/model/deepseek-v3-671b-config.json").readAllBytes(), StandardCharsets.UTF_8)
                .replace("\"q_lora_rank\": 1536", "\"q_lora_rank\": null");
        WeightLayout w = new WeightLayout(ModelConfig.parse(json, Path.of("x.json")));
        assertTrue(w.tensors().stream().anyMatch(t -> t.name().equals("model.layers.0.self_attn.q_proj.weight")
                && t.shape()[0] == 128L * 192 && t.shape()[1] == 7168));
        assertTrue(w.tensors().stream().noneMatch(t -> t.name().contains("q_a_proj")));
    }
}
