package dev.jseek.jinja;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.jseek.ExternalPeers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The differential oracle of jseek's template engine: Python's jinja2 ({@code tools/render-jinja.py}, the environment
 * of transformers' apply_chat_template) renders a batch of cases in one python3 process, and jseek renders each case
 * on a worker thread (a hang is a failed case, not a hung build).
 */
final class Jinja2Oracle {
    private Jinja2Oracle() {}

    static final ObjectMapper JSON = new ObjectMapper();
    /** The clock of strftime_now when a case names none (render-jinja.py's default). */
    static final LocalDateTime DEFAULT_NOW = LocalDateTime.of(2026, 1, 15, 9, 5, 7);
    static final long CASE_TIMEOUT_S = 10;

    /** Skips locally, fails in CI, without python3 and jinja2. */
    static void requireJinja2() {
        ExternalPeers.require(ExternalPeers.pythonHas("jinja2"), "python3 with jinja2 (Debian package python3-jinja2) is not available");
    }

    /** jinja2's answers to {@code cases} (objects {template, context, optional now}), one per case, and its version. */
    record Answers(String version, List<JsonNode> results) {}

    static Answers jinja2(ArrayNode cases, Path tmp) throws Exception {
        Path in = tmp.resolve("jinja-cases.json"), err = tmp.resolve("render-jinja.err");
        JSON.writeValue(in.toFile(), cases);
        String keep = System.getProperty("jseek.jinja.keep"); // -Djseek.jinja.keep=DIR: keep the cases for a look with render-jinja.py
        if (keep != null) Files.copy(in, Files.createDirectories(Path.of(keep)).resolve(cases.size() + "-cases.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Process p = new ProcessBuilder("python3", Path.of("tools/render-jinja.py").toAbsolutePath().toString(), in.toString())
                .redirectError(err.toFile()).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "render-jinja.py timed out");
        assertEquals(0, p.exitValue(), "render-jinja.py failed: " + Files.readString(err));
        JsonNode root = JSON.readTree(new String(out, StandardCharsets.UTF_8));
        List<JsonNode> results = new ArrayList<>();
        root.get("results").forEach(results::add);
        assertEquals(cases.size(), results.size(), "render-jinja.py answered a different number of cases");
        return new Answers(root.path("jinja2").asText("?"), results);
    }

    /** A JSON value as the engine's context values: Map (LinkedHashMap, order kept), List, String, Boolean, Integer/Long, Double, null. */
    static Object toJava(JsonNode n) {
        if (n == null || n.isNull() || n.isMissingNode()) return null;
        if (n.isObject()) {
            Map<String, Object> m = new LinkedHashMap<>();
            n.properties().forEach(e -> m.put(e.getKey(), toJava(e.getValue())));
            return m;
        }
        if (n.isArray()) {
            List<Object> l = new ArrayList<>();
            n.forEach(x -> l.add(toJava(x)));
            return l;
        }
        if (n.isTextual()) return n.textValue();
        if (n.isBoolean()) return n.booleanValue();
        if (n.isInt()) return n.intValue();
        if (n.isLong()) return n.longValue();
        if (n.isFloatingPointNumber()) return n.doubleValue();
        throw new IllegalArgumentException("no context value for JSON " + n);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> contextOf(JsonNode context) {
        return context == null || context.isNull() ? new LinkedHashMap<>() : (Map<String, Object>) toJava(context);
    }

    /** What jseek did with a case: the text, or what it threw (a JinjaException is a refusal, anything else a bug). */
    record Outcome(String text, Throwable error, boolean timedOut) {
        boolean refused() { return error instanceof JinjaException; }

        String describe() {
            if (timedOut) return "no answer within " + CASE_TIMEOUT_S + " s";
            if (error != null) return error.getClass().getName() + ": " + error.getMessage();
            return quote(text);
        }
    }

    private static ExecutorService worker = newWorker();

    private static ExecutorService newWorker() {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(null, r, "jseek-jinja-case", 64L << 20);
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Parses and renders {@code template} with jseek on a worker thread; with {@code now} null through
     * render(context), else render(context, now).
     */
    static Outcome jseek(String template, Map<String, Object> context, LocalDateTime now) {
        return jseek(() -> {
            JinjaTemplate t = JinjaTemplate.parse(template);
            return now == null ? t.render(context) : t.render(context, now);
        });
    }

    /** Runs some jseek work (parse and / or render) on the worker thread, with the case time limit. */
    static synchronized Outcome jseek(java.util.concurrent.Callable<String> work) {
        Future<String> f = worker.submit(work);
        try {
            return new Outcome(f.get(CASE_TIMEOUT_S, TimeUnit.SECONDS), null, false);
        } catch (TimeoutException e) {
            f.cancel(true);
            worker.shutdownNow();
            worker = newWorker(); // the stuck thread is a daemon; the next cases get a fresh one
            return new Outcome(null, null, true);
        } catch (java.util.concurrent.ExecutionException e) {
            return new Outcome(null, e.getCause(), false);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Outcome(null, e, false);
        }
    }

    /** A string as a JSON literal: every control character and trailing space visible. */
    static String quote(String s) {
        try {
            return s == null ? "null" : JSON.writeValueAsString(s);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** jinja2's answer, shown: its text quoted, or its error. */
    static String describe(JsonNode jinja2) {
        return jinja2.has("error") ? "error " + jinja2.get("error").asText() : quote(jinja2.get("text").asText());
    }

    /** Agreement of jseek with jinja2 on one case. */
    enum Verdict { EQUAL, BOTH_FAILED, MISMATCH }

    static Verdict verdict(JsonNode jinja2, Outcome ours) {
        if (jinja2.has("error")) return ours.refused() ? Verdict.BOTH_FAILED : Verdict.MISMATCH;
        return ours.error() == null && !ours.timedOut() && jinja2.get("text").asText().equals(ours.text()) ? Verdict.EQUAL : Verdict.MISMATCH;
    }

    /** Where two long texts first differ, with some context of each (for renderings of whole chat templates). */
    static String firstDifference(String expected, String actual, int window) {
        int n = Math.min(expected.length(), actual.length()), i = 0;
        while (i < n && expected.charAt(i) == actual.charAt(i)) i++;
        int from = Math.max(0, i - window);
        return "first difference at char " + i + " (lengths " + expected.length() + " / " + actual.length() + "):\n      jinja2: …"
                + quote(expected.substring(from, Math.min(expected.length(), i + window))) + "\n      jseek:  …"
                + quote(actual.substring(from, Math.min(actual.length(), i + window)));
    }
}
