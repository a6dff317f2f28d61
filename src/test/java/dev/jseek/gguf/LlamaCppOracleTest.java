package dev.jseek.gguf;

import static dev.jseek.gguf.GgufTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jseek.ExternalPeers;
import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.ModelConfig;
import dev.jseek.model.RandomInit;
import dev.jseek.source.ModelSource;
import dev.jseek.tensor.DType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.StringJoiner;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * llama.cpp as the oracle: every type {@code jseek export} writes loads in llama.cpp (the prebuilt build of npm
 * node-llama-cpp 3.21.1, run by {@code node tools/llama-next-probs.mjs}: CPU, F32 KV cache, flash attention off) and
 * its next-token probabilities at every position agree with jseek's on the same file. F32 weights: within 1e-4 in
 * probability. Quantized weights: llama.cpp multiplies them with activations it quantizes too (to Q8_K / Q8_0 per
 * 256 / 32 values), jseek with float activations, so each type has a stated bound ({@link #bound}), several times
 * what was measured (load average 25 on 2 cores; the numbers do not depend on it); for the K-quants also at most half
 * of what the quantization itself moves the probabilities (against llama.cpp on the F32 file). The model is
 * random (std {@link #STD}), every expert routed (no routing decision to flip), its rows whole 256-blocks, with a final
 * norm weight of {@link #GAIN} so that the next-token distributions are sharp.
 * Without node (>= 20) or the package: skipped locally, a failure in CI ({@link ExternalPeers}); tools/fetch-test-data.sh
 * installs both.
 */
class LlamaCppOracleTest {
    static final int[] TOKENS = {120, 5, 77, 200, 9, 31, 255, 64, 3, 101};

    /** Largest |p_jseek - p_llama.cpp| allowed over the vocabulary and positions, per export type. */
    static double bound(QuantMix t) {
        return switch (t) {
            case F32 -> 1e-4;      // measured 4.5e-7
            case BF16, F16 -> 2e-2; // BF16 measured 7.1e-3: llama.cpp rounds the activations to BF16 as well
            case Q8_0 -> 2e-2;     // measured 8.3e-3 (activations to Q8_0 in llama.cpp)
            case Q6_K -> 4e-2;     // measured 1.4e-2 (activations to Q8_K)
            case Q4_K_M -> 6e-2;   // measured 2.5e-2
        };
    }

    /** Weight std of the random model: small enough that the layers do not amplify rounding chaotically. */
    static final double STD = 0.05;
    /** The final norm's weight: logits GAIN times those of a unit norm, so the next-token distributions are sharp. */
    static final float GAIN = 3f;

    /** Sets every element of the F32 1-D tensor {@code name} in a safetensors file to {@code v}. */
    static void sharpen(Path file, String name, float v) throws java.io.IOException {
        dev.jseek.io.TensorInfo t;
        try (dev.jseek.io.SafetensorsFile f = dev.jseek.io.SafetensorsFile.open(file)) { t = f.info(name); }
        assertEquals(DType.F32, t.dtype());
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate((int) t.byteSize()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) b.putFloat(v);
        b.flip();
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(b, t.fileOffset());
        }
    }

    static double[][] llamaCpp(String node, Path npm, Path gguf, int vocab, Path tmp) throws Exception {
        StringJoiner ids = new StringJoiner(",");
        for (int t : TOKENS) ids.add(Integer.toString(t));
        Path err = tmp.resolve("node.err");
        Process p = new ProcessBuilder(node, Path.of("tools/llama-next-probs.mjs").toAbsolutePath().toString(), npm.toString(),
                gguf.toString(), ids.toString(), Integer.toString(vocab)).redirectError(err.toFile()).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "node timed out");
        assertEquals(0, p.exitValue(), gguf + ": llama.cpp failed: " + Files.readString(err));
        JsonNode probs = new ObjectMapper().readTree(out).get("probs");
        double[][] r = new double[probs.size()][vocab];
        for (int i = 0; i < r.length; i++) for (int j = 0; j < vocab; j++) r[i][j] = probs.get(i).get(j).asDouble();
        return r;
    }

    static double[][] jseek(Path gguf, int vocab) {
        try (DeepSeekV3 m = ModelSource.open(gguf)) {
            float[] logits = run(m, TOKENS, AttnMode.ABSORB);
            double[][] r = new double[TOKENS.length][vocab];
            for (int i = 0; i < TOKENS.length; i++) {
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int j = 0; j < vocab; j++) max = Math.max(max, logits[i * vocab + j]);
                for (int j = 0; j < vocab; j++) sum += r[i][j] = Math.exp(logits[i * vocab + j] - max);
                for (int j = 0; j < vocab; j++) r[i][j] /= sum;
            }
            return r;
        }
    }

    static double maxAbs(double[][] a, double[][] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) for (int j = 0; j < a[i].length; j++) d = Math.max(d, Math.abs(a[i][j] - b[i][j]));
        return d;
    }

    @Test
    void llamaCppLoadsEveryExportTypeAndAgreesOnNextTokenProbabilities(@TempDir Path tmp) throws Exception {
        Path npm = ExternalParserTest.npmCache();
        ExternalPeers.require(Files.isRegularFile(npm.resolve("node_modules/node-llama-cpp/package.json"))
                && Files.isDirectory(npm.resolve("node_modules/@node-llama-cpp/linux-x64")), "npm package node-llama-cpp@3.21.1 (linux-x64) is not installed in " + npm);
        String node = ExternalParserTest.node(npm);
        int major = ExternalParserTest.nodeMajor(node);
        ExternalPeers.require(major >= 20, "node >= 20 (for node-llama-cpp) is not available: '" + node + "' " + (major == 0 ? "does not run" : "is version " + major));
        // every routed expert selected (top-4 of 4, one group): no routing decision that a rounding could flip
        ModelConfig c = dev.jseek.model.ConfigEdits.edit(KQuantExportTest.config(), o -> {
            o.put("num_experts_per_tok", 4);
            o.put("n_group", 1);
            o.put("topk_group", 1);
        });
        Path hf = tmp.resolve("hf");
        RandomInit.write(c, hf, 11, STD, DType.F32);
        sharpen(hf.resolve("model.safetensors"), "model.norm.weight", GAIN);
        Path tok = ExternalParserTest.tokenizer(tmp);
        int vocab = c.vocabSize();
        double[][] f32 = null;
        StringBuilder report = new StringBuilder();
        boolean ok = true;
        for (QuantMix t : new QuantMix[] {QuantMix.F32, QuantMix.F16, QuantMix.BF16, QuantMix.Q8_0, QuantMix.Q6_K, QuantMix.Q4_K_M}) {
            Path out = tmp.resolve(t.cliName() + ".gguf");
            GgufExporter.export(hf, out, t, false, tok);
            double[][] want = llamaCpp(node, npm, out, vocab, tmp), got = jseek(out, vocab);
            double d = maxAbs(want, got), top = 0;
            for (double[] row : want) for (double v : row) top = Math.max(top, v);
            if (f32 == null) f32 = want;
            double moved = maxAbs(f32, got), llamaMoved = maxAbs(f32, want);
            report.append(String.format("%s: max |p diff| %.2e (bound %.0e); vs llama.cpp F32: jseek %.2e, llama.cpp %.2e; top p %.2f%n",
                    t, d, bound(t), moved, llamaMoved, top));
            ok &= d <= bound(t) && top > 0.3;
            // K-quants: the two engines agree far more closely than the quantization moves the model, so llama.cpp
            // decodes the blocks jseek wrote as jseek does
            if (t == QuantMix.Q6_K || t == QuantMix.Q4_K_M) ok &= d <= 0.5 * moved;
        }
        System.out.print(report);
        assertTrue(ok, report.toString());
    }

    /**
     * A DeepSeek-V2-style router through llama.cpp: softmax scores (expert_gating_func 1), no selection bias, weights
     * not normalized (expert_weights_norm false) and scaled by 1.5 (expert_weights_scale), every expert routed so that
     * only the weights' rule matters. F32 export; llama.cpp's next-token probabilities must match jseek's.
     */
    @Test
    void llamaCppRunsDeepSeekV2SoftmaxRoutingLikeJseek(@TempDir Path tmp) throws Exception {
        Path npm = ExternalParserTest.npmCache();
        ExternalPeers.require(Files.isRegularFile(npm.resolve("node_modules/node-llama-cpp/package.json"))
                && Files.isDirectory(npm.resolve("node_modules/@node-llama-cpp/linux-x64")), "npm package node-llama-cpp@3.21.1 (linux-x64) is not installed in " + npm);
        String node = ExternalParserTest.node(npm);
        int major = ExternalParserTest.nodeMajor(node);
        ExternalPeers.require(major >= 20, "node >= 20 (for node-llama-cpp) is not available: '" + node + "' " + (major == 0 ? "does not run" : "is version " + major));
        ModelConfig c = dev.jseek.model.ConfigEdits.edit(KQuantExportTest.config(), o -> {
            o.put("model_type", "deepseek_v2");
            o.put("scoring_func", "softmax");
            o.put("topk_method", "greedy");
            o.put("norm_topk_prob", false);
            o.put("routed_scaling_factor", 1.5);
            o.put("num_experts_per_tok", 4);
            o.put("n_group", 1);
            o.put("topk_group", 1);
        });
        Path hf = tmp.resolve("hf"), out = tmp.resolve("v2.gguf");
        RandomInit.write(c, hf, 12, STD, DType.F32);
        sharpen(hf.resolve("model.safetensors"), "model.norm.weight", GAIN);
        GgufExporter.export(hf, out, QuantMix.F32, false, ExternalParserTest.tokenizer(tmp));
        try (GgufFile f = GgufFile.open(out)) {
            assertEquals(1, f.get("deepseek2.expert_gating_func").asLong());
            assertFalse(f.has("blk.1.exp_probs_b.bias"));
        }
        int vocab = c.vocabSize();
        double[][] want = llamaCpp(node, npm, out, vocab, tmp), got = jseek(out, vocab);
        double d = maxAbs(want, got);
        System.out.printf("DeepSeek-V2 routing: max |p diff| llama.cpp vs jseek %.2e%n", d);
        assertTrue(d <= bound(QuantMix.F32), "max |p diff| " + d);
        double top = 0;
        for (double[] row : want) for (double v : row) top = Math.max(top, v);
        assertTrue(top > 0.3, "top p " + top + ": the distributions are too flat to compare");
    }
}
