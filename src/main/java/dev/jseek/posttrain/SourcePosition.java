package dev.jseek.posttrain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jseek.io.FormatException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * The position of a post-training batch source in a checkpoint ({@code saveState}/{@code restoreState} of
 * {@link SftBatchSource} and {@link RolloutSource}): a small JSON object.
 */
final class SourcePosition {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SourcePosition() {}

    /** The saved bytes of {@code json}. */
    static byte[] bytes(String json) { return json.getBytes(StandardCharsets.UTF_8); }

    /** The saved position, parsed; not JSON is a {@link FormatException} that names {@code what} ("GRPO position"). */
    static JsonNode read(byte[] state, String what) {
        try {
            return JSON.readTree(state);
        } catch (IOException e) {
            throw new FormatException(what + " in the checkpoint is not JSON: " + e.getMessage(), e);
        }
    }
}
