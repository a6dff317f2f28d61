package dev.jseek.model;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jseek.io.Npy;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Parity with the independent float64 PyTorch forward of tools/make_parity_fixtures.py (checkpoints and logits in
 * src/test/resources/parity/&lt;case&gt;): logits [T, vocab] and MTP depth-1 logits [T-1, vocab] (pair (h_i, t_{i+1})
 * at position i), max |diff| <= 1e-4, in both attention modes; also the absorbed decode fed one token at a time and
 * a two-chunk prefill against the same fixture.
 */
class ParityTest {
    static final double TOL = 1e-4;

    static Path dir(String name) {
        try {
            return Path.of(ParityTest.class.getResource("/parity/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static int[] tokens(Path dir) throws IOException {
        JsonNode t = new ObjectMapper().readTree(dir.resolve("case.json").toFile()).get("tokens");
        int[] out = new int[t.size()];
        for (int i = 0; i < out.length; i++) out[i] = t.get(i).intValue();
        return out;
    }

    static double maxDiff(float[] a, int aOff, float[] b, int bOff, int n) {
        double m = 0;
        for (int i = 0; i < n; i++) m = Math.max(m, Math.abs(a[aOff + i] - b[bOff + i]));
        return m;
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"yarn_qlora,NAIVE", "yarn_qlora,ABSORB", "no_qlora,NAIVE", "no_qlora,ABSORB", "fp8,NAIVE", "fp8,ABSORB"})
    void logitsAndMtpLogitsMatchFixture(String name, AttnMode mode) throws IOException {
        Path d = dir(name);
        int[] tokens = tokens(d);
        int T = tokens.length;
        try (DeepSeekV3 m = DeepSeekV3.open(d)) {
            int v = m.config.vocabSize();
            float[] want = Npy.readFloats(d.resolve("logits.npy"), T, v);
            float[] hidden = m.forwardHidden(tokens, 0, m.newCache(T, mode));
            float[] logits = m.logits(hidden, 0, T);
            double diff = maxDiff(logits, 0, want, 0, T * v);
            System.out.printf("parity %-10s %-6s logits     max|diff| %.3g%n", name, mode, diff);
            assertTrue(diff <= TOL, name + " " + mode + " logits max |diff| " + diff);

            float[] wantMtp = Npy.readFloats(d.resolve("mtp_logits.npy"), T - 1, v);
            float[] mtp = m.mtpLogits(Arrays.copyOfRange(tokens, 1, T), hidden, 0, m.newMtpCache(T, mode));
            double dm = maxDiff(mtp, 0, wantMtp, 0, (T - 1) * v);
            System.out.printf("parity %-10s %-6s mtp logits max|diff| %.3g%n", name, mode, dm);
            assertTrue(dm <= TOL, name + " " + mode + " MTP logits max |diff| " + dm);
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"yarn_qlora", "no_qlora", "fp8"})
    void absorbedDecodeOneTokenAtATimeMatchesFixture(String name) throws IOException {
        Path d = dir(name);
        int[] tokens = tokens(d);
        int T = tokens.length;
        try (DeepSeekV3 m = DeepSeekV3.open(d)) {
            int v = m.config.vocabSize();
            float[] want = Npy.readFloats(d.resolve("logits.npy"), T, v);
            KvCache cache = m.newCache(T, AttnMode.ABSORB);
            double worst = 0;
            for (int p = 0; p < T; p++) {
                float[] step = m.forward(new int[] {tokens[p]}, p, cache);
                double diff = maxDiff(step, 0, want, p * v, v);
                worst = Math.max(worst, diff);
                assertTrue(diff <= TOL, name + " decode position " + p + " max |diff| " + diff);
            }
            System.out.printf("parity %-10s decode     max|diff| %.3g%n", name, worst);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"yarn_qlora,NAIVE", "yarn_qlora,ABSORB", "fp8,ABSORB"})
    void twoChunkPrefillMatchesFixture(String name, AttnMode mode) throws IOException {
        Path d = dir(name);
        int[] tokens = tokens(d);
        int T = tokens.length, split = T / 2 - 1;
        try (DeepSeekV3 m = DeepSeekV3.open(d)) {
            int v = m.config.vocabSize();
            float[] want = Npy.readFloats(d.resolve("logits.npy"), T, v);
            KvCache cache = m.newCache(T, mode);
            float[] a = m.forward(Arrays.copyOfRange(tokens, 0, split), 0, cache);
            float[] b = m.forward(Arrays.copyOfRange(tokens, split, T), split, cache);
            assertTrue(maxDiff(a, 0, want, 0, split * v) <= TOL);
            double diff = maxDiff(b, 0, want, split * v, (T - split) * v);
            assertTrue(diff <= TOL, name + " " + mode + " second chunk max |diff| " + diff);
        }
    }
}
