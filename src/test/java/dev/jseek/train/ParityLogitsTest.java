package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jseek.io.Checkpoint;
import dev.jseek.io.Npy;
import dev.jseek.model.ModelConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The training forward computes the same model as inference: {@link TrainModel}'s main and MTP logits equal the
 * PyTorch parity fixtures (src/test/resources/parity, tools/make_parity_fixtures.py) within 1e-4 of the max abs logit,
 * including the FP8 checkpoint (dequantized on load).
 */
class ParityLogitsTest {

    @ParameterizedTest
    @ValueSource(strings = {"yarn_qlora", "no_qlora", "fp8"})
    void trainForwardMatchesParityLogits(String name) throws Exception {
        Path dir = Path.of("src/test/resources/parity", name);
        ModelConfig cfg = ModelConfig.load(dir.resolve("config.json"));
        JsonNode cs = new ObjectMapper().readTree(Files.readString(dir.resolve("case.json")));
        int[] tokens = TorchGradFixtureTest.ints(cs.get("tokens"));
        int T = tokens.length, V = cfg.vocabSize();
        TrainModel m = new TrainModel(cfg, 1, T);
        try (Checkpoint ck = Checkpoint.open(dir)) {
            m.load(ck);
        }
        float[][] got = m.forwardAllLogits(tokens, 1, T);
        double e0 = TorchGradFixtureTest.maxRel(got[0], Npy.readFloats(dir.resolve("logits.npy"), T, V));
        double e1 = TorchGradFixtureTest.maxRel(got[1], Npy.readFloats(dir.resolve("mtp_logits.npy"), T - 1, V));
        System.out.printf("%s: main logits max err / max|logit| %.3e, MTP %.3e%n", name, e0, e1);
        assertTrue(e0 <= 1e-4, name + " main logits: " + e0);
        assertTrue(e1 <= 1e-4, name + " MTP logits: " + e1);
    }
}
