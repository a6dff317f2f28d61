package dev.jseek.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Server-Sent Events as the OpenAI API streams them: each event is {@code data: <one-line JSON>\n\n}, flushed at
 * once; the stream ends with {@code data: [DONE]\n\n}. A write that fails (the client went away, or did not read
 * within the write timeout) turns the writer off: later events are dropped and report false.
 */
final class SseWriter {
    static final String CONTENT_TYPE = "text/event-stream; charset=utf-8";

    private final OutputStream out;
    private final ConnectionGuard.Slot slot;
    private final long writeTimeoutMs;
    private volatile boolean broken;

    SseWriter(OutputStream out) { this(out, null, 0); }

    /** Each write armed on {@code slot} (may be null) for {@code writeTimeoutMs}: a client that stops reading is dropped. */
    SseWriter(OutputStream out, ConnectionGuard.Slot slot, long writeTimeoutMs) {
        this.out = out;
        this.slot = slot;
        this.writeTimeoutMs = writeTimeoutMs;
    }

    /** Sends one JSON event; false when the client is gone. */
    boolean event(JsonNode data) {
        try {
            return write("data: " + RequestFields.JSON.writeValueAsString(data) + "\n\n");
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Sends the final {@code data: [DONE]} event; false when the client is gone. */
    boolean done() { return write("data: [DONE]\n\n"); }

    boolean broken() { return broken; }

    private synchronized boolean write(String s) {
        if (broken) return false;
        if (slot != null) slot.arm(writeTimeoutMs);
        try {
            out.write(s.getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) {
            broken = true;
        }
        if (slot != null) slot.disarm();
        return !broken;
    }
}
