package dev.jseek.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jseek.io.AtomicFiles;
import dev.jseek.io.FormatException;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Training metrics as JSON Lines, one object per step, flushed after every line: {@code step, tokens, sequences,
 * loss, main_loss, mtp_loss, balance_loss, grad_norm, lr, gamma, lambda, step_seconds, tokens_per_s, skipped},
 * and for MoE models {@code moe_layers} (HF layer ids), {@code expert_load} ([layer][expert] token counts) and
 * {@code max_vio} (per layer); on validation steps {@code val_loss} (nats per token) and {@code val_bpb} (bits per
 * byte; null when unknown); then the model's extra statistics ({@link StepMetrics#extra()}, e.g. GRPO's rewards) under
 * their own names. Non-finite numbers are written as null. Opening with {@code keepUpToStep} (a resumed
 * run) first drops lines of steps after it, so a restarted run does not duplicate steps.
 */
public final class MetricsLog implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path file;
    private final BufferedWriter out;

    private MetricsLog(Path file, BufferedWriter out) {
        this.file = file;
        this.out = out;
    }

    /** Opens {@code file} for appending, keeping only existing lines with step <= {@code keepUpToStep}. */
    public static MetricsLog open(Path file, long keepUpToStep) {
        try {
            Path abs = file.toAbsolutePath();
            if (abs.getParent() != null) Files.createDirectories(abs.getParent());
            if (Files.exists(abs)) {
                List<String> lines = Files.readAllLines(abs, StandardCharsets.UTF_8);
                StringBuilder kept = new StringBuilder();
                boolean dropped = false;
                for (String l : lines) {
                    if (l.isBlank()) continue;
                    long step;
                    try {
                        JsonNode n = JSON.readTree(l);
                        step = n.path("step").asLong(Long.MAX_VALUE);
                    } catch (IOException e) {
                        step = Long.MAX_VALUE; // a torn last line from a crash
                    }
                    if (step <= keepUpToStep) kept.append(l).append('\n');
                    else dropped = true;
                }
                if (dropped) AtomicFiles.write(abs, kept.toString().getBytes(StandardCharsets.UTF_8));
            }
            return new MetricsLog(abs, Files.newBufferedWriter(abs, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND));
        } catch (IOException e) {
            throw new FormatException(file + ": cannot open metrics log: " + e, e);
        }
    }

    public Path file() { return file; }

    /** Appends one step and flushes. */
    public void write(StepMetrics m) {
        try {
            out.write(JSON.writeValueAsString(toJson(m)));
            out.write('\n');
            out.flush();
        } catch (IOException e) {
            throw new FormatException(file + ": cannot write metrics: " + e, e);
        }
    }

    /** The JSON object of one step. */
    public static ObjectNode toJson(StepMetrics m) {
        ObjectNode o = JSON.createObjectNode();
        o.put("step", m.step());
        o.put("tokens", m.tokens());
        o.put("sequences", m.sequences());
        num(o, "loss", m.losses().total());
        num(o, "main_loss", m.losses().main());
        num(o, "mtp_loss", m.losses().mtp());
        num(o, "balance_loss", m.losses().balance());
        num(o, "grad_norm", m.gradNorm());
        num(o, "lr", m.lr());
        num(o, "gamma", m.gamma());
        num(o, "lambda", m.lambda());
        num(o, "step_seconds", m.seconds());
        num(o, "tokens_per_s", m.tokensPerSecond());
        o.put("skipped", m.skipped());
        for (var e : m.extra().entrySet()) num(o, e.getKey(), e.getValue());
        if (m.evaluated()) {
            num(o, "val_loss", m.valLoss());
            num(o, "val_bpb", m.valBpb());
        }
        if (!m.moeLayers().isEmpty()) {
            ArrayNode ids = o.putArray("moe_layers");
            m.moeLayers().forEach(ids::add);
            ArrayNode load = o.putArray("expert_load");
            for (long[] l : m.expertLoad()) {
                ArrayNode a = load.addArray();
                for (long v : l) a.add(v);
            }
            ArrayNode mv = o.putArray("max_vio");
            for (double v : m.maxVio()) {
                if (Double.isFinite(v)) mv.add(v);
                else mv.addNull();
            }
        }
        return o;
    }

    private static void num(ObjectNode o, String k, double v) {
        if (Double.isFinite(v)) o.put(k, v);
        else o.putNull(k);
    }

    @Override public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new FormatException(file + ": cannot close metrics log: " + e, e);
        }
    }
}
