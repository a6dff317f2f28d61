package dev.jseek.gguf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.KvCache;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/** Shared helpers of the GGUF tests: fixture paths and running a model over a token sequence. */
final class GgufTestSupport {
    private GgufTestSupport() {}

    static Path resource(String name) {
        try {
            return Path.of(GgufTestSupport.class.getResource(name).toURI());
        } catch (Exception e) {
            throw new IllegalStateException(name, e);
        }
    }

    static Path parity(String name) { return resource("/parity/" + name); }

    static int[] tokens(Path parityDir) throws IOException {
        JsonNode t = new ObjectMapper().readTree(parityDir.resolve("case.json").toFile()).get("tokens");
        int[] out = new int[t.size()];
        for (int i = 0; i < out.length; i++) out[i] = t.get(i).intValue();
        return out;
    }

    /** Logits [T, vocab] of one prefill, then (when the model has MTP) the MTP logits [T-1, vocab] appended. */
    static float[] run(DeepSeekV3 m, int[] toks, AttnMode mode) {
        int T = toks.length;
        float[] hidden = m.forwardHidden(toks, 0, m.newCache(T, mode));
        float[] logits = m.logits(hidden, 0, T);
        if (!m.hasMtp()) return logits;
        KvCache mc = m.newMtpCache(T - 1, mode);
        float[] mtp = m.mtpLogits(Arrays.copyOfRange(toks, 1, T), hidden, 0, mc);
        float[] all = Arrays.copyOf(logits, logits.length + mtp.length);
        System.arraycopy(mtp, 0, all, logits.length, mtp.length);
        return all;
    }

    static double maxDiff(float[] a, float[] b) {
        if (a.length != b.length) throw new AssertionError(a.length + " vs " + b.length + " values");
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs((double) a[i] - b[i]));
        return m;
    }

    static void assertBitwise(float[] want, float[] got, String what) {
        if (want.length != got.length) throw new AssertionError(what + ": " + want.length + " vs " + got.length + " values");
        for (int i = 0; i < want.length; i++)
            if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i]))
                throw new AssertionError(what + ": value " + i + " is " + got[i] + ", expected exactly " + want[i]);
    }
}
