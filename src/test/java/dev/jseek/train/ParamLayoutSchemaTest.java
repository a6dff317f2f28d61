package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.model.ModelConfig;
import dev.jseek.model.Presets;
import dev.jseek.model.TensorSchema;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The training arena against the {@link TensorSchema}: the same tensors in the same order and shapes, the routing
 * bias frozen, the MTP copies as aliases of the main embedding and head; and the FLOP count's active Linear
 * parameters against a direct count over the schema. Configs: the tiny preset and the two PyTorch parity fixtures
 * (query latent with YaRN and 16 experts; q_proj with 2 shared experts).
 */
class ParamLayoutSchemaTest {
    static List<ModelConfig> configs() throws Exception {
        List<ModelConfig> cs = new ArrayList<>(List.of(Presets.get("tiny")));
        for (String n : new String[] {"yarn_qlora", "no_qlora"})
            cs.add(ModelConfig.load(Path.of(ParamLayoutSchemaTest.class.getResource("/parity/" + n + "/config.json").toURI())));
        return cs;
    }

    @Test
    void theTrainingArenaHoldsExactlyTheSchemaTensorsInItsOrder() throws Exception {
        for (ModelConfig c : configs()) {
            TensorSchema s = new TensorSchema(c);
            ParamLayout pl = new TrainModel(c, 1, 4).layout();
            List<String> want = new ArrayList<>(), got = new ArrayList<>();
            Map<String, String> wantAlias = new LinkedHashMap<>();
            for (TensorSchema.Tensor t : s.tensors()) {
                if (t.kind() == TensorSchema.Kind.MTP_COPY) wantAlias.put(t.name(), t.slot().copyOf().hfName(-1, -1));
                else want.add(t.name() + Arrays.toString(t.shape()) + (t.trainable() ? "" : " frozen"));
            }
            int offset = 0;
            for (ParamLayout.Entry e : pl.entries()) {
                got.add(e.name() + Arrays.toString(e.shape()) + (e.trainable() ? "" : " frozen"));
                assertEquals(offset, e.offset(), e.name());
                offset += e.size();
            }
            assertEquals(want, got);
            assertEquals(wantAlias, pl.aliases());
            assertEquals(s.trainingParameters(), pl.size());
        }
    }

    @Test
    void theFlopCountsActiveLinearParametersAreADirectCountOverTheSchema() throws Exception {
        for (ModelConfig c : configs()) {
            long n = 0;
            for (TensorSchema.Tensor t : new TensorSchema(c).tensors()) {
                boolean multiplied = t.kind() == TensorSchema.Kind.LINEAR || t.kind() == TensorSchema.Kind.ROUTER || t.kind() == TensorSchema.Kind.HEAD;
                if (!t.mtp() && multiplied && t.expert() < c.numExpertsPerTok()) n += t.elements();
            }
            assertEquals(n, TrainFlops.activeParamsPerToken(c));
        }
    }

    @Test
    void aDeclarationThatLeavesTheSchemaIsAnError() throws Exception {
        TensorSchema s = new TensorSchema(Presets.get("tiny"));
        ParamLayout pl = new ParamLayout(s);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> pl.add("model.embed_tokens.weight", true, 3, 4));
        assertTrue(e.getMessage().startsWith("parameter model.embed_tokens.weight[3, 4] differs from the tensor schema's next tensor model.embed_tokens.weight["),
                e.getMessage());
        TensorSchema.Tensor first = s.tensors().getFirst();
        pl.add(first.name(), true, first.rows(), first.cols());
        e = assertThrows(IllegalStateException.class, pl::requireComplete);
        assertTrue(e.getMessage().startsWith("the layout declares 1 of the tensor schema's " + s.tensors().size() + " tensors; missing model.layers.0."),
                e.getMessage());
        assertThrows(IllegalStateException.class, () -> pl.add("model.norm.weight", true, s.config().hiddenSize()));
    }
}
