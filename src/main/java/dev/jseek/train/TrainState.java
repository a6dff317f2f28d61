package dev.jseek.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jseek.io.FormatException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;

/**
 * The scalar part of a training run's state, stored as {@code trainer_state.json} in a {@link TrainCheckpoint}:
 * optimizer steps attempted ({@code step}, including skipped ones), tokens seen, AdamW's update count, the number of
 * EMA updates, the {@link TrainRng} state, the data source's opaque position blob, and the skip counters of the
 * non-finite guard. Everything else (parameters, moments, EMA values) lives in the safetensors files.
 */
public record TrainState(long step, long tokens, long optimizerStep, long emaUpdates, long rngState, byte[] dataState,
                         long skippedSteps, int consecutiveSkips) {
    static final String FORMAT = "jseek-train-state";
    static final int VERSION = 1;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public TrainState {
        if (step < 0 || tokens < 0 || optimizerStep < 0 || emaUpdates < 0 || skippedSteps < 0 || consecutiveSkips < 0)
            throw new IllegalArgumentException("negative counter in train state: step " + step + ", tokens " + tokens + ", optimizer_step " + optimizerStep
                    + ", ema_updates " + emaUpdates + ", skipped " + skippedSteps + ", consecutive " + consecutiveSkips);
        dataState = dataState == null ? new byte[0] : dataState.clone();
    }

    @Override public byte[] dataState() { return dataState.clone(); }

    /** JSON text (UTF-8 bytes). */
    public byte[] toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("format", FORMAT);
        o.put("version", VERSION);
        o.put("step", step);
        o.put("tokens", tokens);
        o.put("optimizer_step", optimizerStep);
        o.put("ema_updates", emaUpdates);
        o.put("rng_state", Long.toUnsignedString(rngState, 16));
        o.put("data_state", Base64.getEncoder().encodeToString(dataState));
        o.put("skipped_steps", skippedSteps);
        o.put("consecutive_skips", consecutiveSkips);
        try {
            return (JSON.writeValueAsString(o) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Parses {@link #toJson()}; errors name {@code file} and the field. */
    public static TrainState fromJson(byte[] json, Path file) {
        JsonNode o;
        try {
            o = JSON.readTree(json);
        } catch (Exception e) {
            throw new FormatException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        if (o == null || !o.isObject()) throw new FormatException(file + ": not a JSON object");
        if (!FORMAT.equals(o.path("format").asText()))
            throw new FormatException(file + ": field format is '" + o.path("format").asText() + "', expected '" + FORMAT + "'");
        if (o.path("version").asInt(-1) != VERSION)
            throw new FormatException(file + ": field version is " + o.path("version") + ", this build reads version " + VERSION);
        try {
            return new TrainState(req(o, "step", file), req(o, "tokens", file), req(o, "optimizer_step", file),
                    req(o, "ema_updates", file), Long.parseUnsignedLong(text(o, "rng_state", file), 16),
                    Base64.getDecoder().decode(text(o, "data_state", file)), req(o, "skipped_steps", file),
                    (int) req(o, "consecutive_skips", file));
        } catch (IllegalArgumentException e) {
            throw new FormatException(file + ": " + e.getMessage(), e);
        }
    }

    private static long req(JsonNode o, String f, Path file) {
        JsonNode n = o.get(f);
        if (n == null || !n.canConvertToLong() || !n.isIntegralNumber()) throw new FormatException(file + ": field " + f + " is " + n + ", expected an integer");
        return n.asLong();
    }

    private static String text(JsonNode o, String f, Path file) {
        JsonNode n = o.get(f);
        if (n == null || !n.isTextual()) throw new FormatException(file + ": field " + f + " is " + n + ", expected a string");
        return n.asText();
    }

    @Override public boolean equals(Object o) {
        return o instanceof TrainState s && s.step == step && s.tokens == tokens && s.optimizerStep == optimizerStep
                && s.emaUpdates == emaUpdates && s.rngState == rngState && Arrays.equals(s.dataState, dataState)
                && s.skippedSteps == skippedSteps && s.consecutiveSkips == consecutiveSkips;
    }

    @Override public int hashCode() { return Long.hashCode(step) * 31 + Long.hashCode(tokens) + Arrays.hashCode(dataState); }

    @Override public String toString() {
        return "TrainState[step=" + step + ", tokens=" + tokens + ", optimizerStep=" + optimizerStep + ", emaUpdates=" + emaUpdates
                + ", rng=" + Long.toHexString(rngState) + ", data=" + dataState.length + " bytes, skipped=" + skippedSteps + "]";
    }
}
