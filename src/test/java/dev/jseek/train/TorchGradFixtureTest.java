package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jseek.io.Checkpoint;
import dev.jseek.io.Npy;
import dev.jseek.io.SafetensorsFile;
import dev.jseek.io.TensorInfo;
import dev.jseek.model.ModelConfig;
import dev.jseek.tensor.DType;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Whole-model loss and every parameter gradient against PyTorch autograd in float64 (fixtures written by
 * tools/make_grad_fixtures.py under src/test/resources/grad/): loss, main CE, each MTP CE and the balance loss within
 * 1e-4 relative, every gradient tensor within 1e-4 of its max abs gradient, main logits within 1e-4.
 */
class TorchGradFixtureTest {
    static final double TOL = 1e-4;

    static int[] ints(JsonNode a) {
        int[] r = new int[a.size()];
        for (int i = 0; i < r.length; i++) r[i] = a.get(i).asInt();
        return r;
    }

    @ParameterizedTest
    @ValueSource(strings = {"moe_yarn_mtp1", "qproj_mtp2"})
    void lossAndEveryGradientMatchAutograd(String name) throws Exception {
        Path dir = Path.of("src/test/resources/grad", name);
        ModelConfig cfg = ModelConfig.load(dir.resolve("config.json"));
        JsonNode cs = new ObjectMapper().readTree(Files.readString(dir.resolve("case.json")));
        int B = cs.get("B").asInt(), T = cs.get("T").asInt();
        int[] tokens = ints(cs.get("tokens")), targets = ints(cs.get("targets"));
        TrainModel m = new TrainModel(cfg, B, T);
        try (Checkpoint ck = Checkpoint.open(dir)) {
            m.load(ck);
        }
        m.setMtpLambda((float) cs.get("mtp_lambda").asDouble());
        m.setBalanceAlpha((float) cs.get("balance_alpha").asDouble());
        m.zeroGrad();
        float loss = m.forwardBackward(tokens, targets, B, T);

        assertRel("loss", cs.get("loss").asDouble(), loss);
        assertRel("main CE", cs.get("main_ce").asDouble(), m.lastMainLoss());
        assertRel("balance", cs.get("balance").asDouble(), m.lastBalanceLoss());
        for (int k = 0; k < cfg.numNextnPredictLayers(); k++)
            assertRel("MTP CE " + (k + 1), cs.get("mtp_ce").get(k).asDouble(), m.lastMtpLosses()[k]);

        double worst = 0;
        String worstName = "";
        Set<String> seen = new HashSet<>();
        try (SafetensorsFile g = SafetensorsFile.open(dir.resolve("grads.safetensors"))) {
            for (TensorInfo t : g.tensors()) {
                assertEquals(DType.F32, t.dtype(), t.name());
                ParamLayout.Entry e = m.layout().get(t.name());
                assertEquals(e.size(), t.elementCount(), "size of " + t.name());
                var seg = g.segment(t.name());
                double gmax = 0, diff = 0;
                for (int i = 0; i < e.size(); i++) {
                    float ref = seg.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i);
                    gmax = Math.max(gmax, Math.abs(ref));
                    diff = Math.max(diff, Math.abs(ref - m.grads()[e.offset() + i]));
                }
                double err = gmax == 0 ? diff : diff / gmax;
                assertTrue(err <= TOL, name + " gradient " + t.name() + ": max err " + diff + " vs max |g| " + gmax);
                if (err > worst) { worst = err; worstName = t.name(); }
                seen.add(t.name());
            }
        }
        for (ParamLayout.Entry e : m.layout().entries())
            if (e.trainable()) assertTrue(seen.contains(e.name()), "fixture has no gradient for " + e.name());
        System.out.printf("%s: loss %.7f (torch %.7f), %d gradient tensors, max err / max|g| %.3e (%s)%n",
                name, loss, cs.get("loss").asDouble(), seen.size(), worst, worstName);

        float[] ref = Npy.readFloats(dir.resolve("logits.npy"), (long) B * T, cfg.vocabSize());
        float[] got = m.forwardLogits(tokens, B, T);
        assertTrue(maxRel(got, ref) <= TOL, name + " logits: " + maxRel(got, ref));
    }

    static double maxRel(float[] a, float[] b) {
        double bmax = 0, diff = 0;
        for (int i = 0; i < b.length; i++) {
            bmax = Math.max(bmax, Math.abs(b[i]));
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
        }
        return diff / bmax;
    }

    static void assertRel(String what, double expected, double actual) {
        double err = Math.abs(expected - actual) / Math.max(Math.abs(expected), 1e-12);
        assertTrue(err <= TOL, what + ": expected " + expected + ", got " + actual + " (rel err " + err + ")");
    }
}
