package dev.jseek.gguf;

import static dev.jseek.gguf.GgufTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.io.Npy;
import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.ModelConfig;
import dev.jseek.source.ModelSource;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * DeepSeek-V2-style models (softmax router, no selection bias) and V3 descendants with one group through a
 * deepseek2 GGUF: the metadata carries expert_gating_func (1 softmax, 2 sigmoid), expert_weights_norm and
 * expert_weights_scale as llama.cpp's converter writes them; the file read back gives the same config, with and
 * without jseek.config (the keys alone, as in a file llama.cpp's converter wrote), and the logits of the PyTorch
 * parity fixture (tools/make_parity_fixtures.py).
 */
class FamilyGgufTest {
    @ParameterizedTest(name = "{0}")
    @CsvSource({"v2_group_limited,1", "v2_lite_greedy,1", "v2_norm_topk,1", "moonlight,2", "kimi_k2,2"})
    void roundTripsWithAndWithoutJseekConfig(String name, int gating, @TempDir Path tmp) throws Exception {
        Path hf = parity(name), out = tmp.resolve("m.gguf"), bare = tmp.resolve("bare.gguf");
        GgufExporter.export(hf, out, GgmlType.F32, false, null);
        ModelConfig c = ModelConfig.load(hf.resolve("config.json"));
        try (GgufFile f = GgufFile.open(out)) {
            assertEquals(gating, f.get("deepseek2.expert_gating_func").asLong());
            assertEquals(c.normTopkProb(), f.get("deepseek2.expert_weights_norm").asBool());
            assertEquals((float) c.routedScalingFactor(), (float) f.get("deepseek2.expert_weights_scale").asDouble());
            assertEquals(c.hasRouterBias(), f.has("blk.1.exp_probs_b.bias"));
            assertEquals(c, Deepseek2Metadata.read(f));
            // the same file without jseek.config: the config from the deepseek2.* keys alone
            GgufWriter w = new GgufWriter();
            f.metadata().forEach((k, v) -> { if (!k.equals(Deepseek2Metadata.JSEEK_CONFIG)) w.put(k, v); });
            for (GgufTensorInfo t : f.tensors()) w.addTensor(t.name(), t.type(), t.shape(), sink -> sink.put(f.segment(t.name())));
            w.write(bare);
        }
        int[] toks = tokens(hf);
        int T = toks.length;
        float[] want = Npy.readFloats(hf.resolve("logits.npy"));
        for (Path p : List.of(out, bare)) {
            try (DeepSeekV3 m = ModelSource.open(p)) {
                ModelConfig got = m.config;
                assertEquals(c.scoringFunc(), got.scoringFunc(), p.toString());
                assertEquals(c.topkMethod(), got.topkMethod(), p.toString());
                assertEquals(c.router(), got.router(), p.toString());
                assertEquals(List.of(), Deepseek2Metadata.differences(c, got));
                float[] logits = m.logits(m.forwardHidden(toks, 0, m.newCache(T, AttnMode.ABSORB)), 0, T);
                assertTrue(maxDiff(logits, want) <= 1e-4, p + " vs PyTorch " + maxDiff(logits, want));
            }
        }
    }
}
