package dev.jseek.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * The peer of {@code jseek bench serve}: llama.cpp's {@code llama-batched-bench} (built from a llama.cpp source
 * release by {@code tools/build-llama-cpp.sh}) on the same GGUF with the same threads. For each number of parallel
 * sequences B it prefills B prompts of PP random tokens (one batch), then runs TG decode steps of B tokens each, and
 * reports the times and speeds (its {@code --output-format jsonl}).
 */
public final class LlamaBatchedBench {
    private LlamaBatchedBench() {}

    /**
     * One line of its output: PP prompt tokens and TG decode steps for each of {@code pl} sequences; prefill time and
     * speed, decode time and speed (S_TG = pl x tg / t_tg: the aggregate decode tokens/s), total time and speed.
     */
    public record Row(int pp, int tg, int pl, double tPp, double speedPp, double tTg, double speedTg, double t, double speed) {}

    /**
     * Runs {@code binary} on {@code gguf}: prompts of {@code pp} tokens, {@code tg} decode steps, each of {@code pl}
     * sequence counts, {@code threads} threads, a context for the largest count. Throws IOException naming the
     * command and the end of its output when it fails, prints nothing usable or runs past {@code timeoutSeconds}.
     */
    public static List<Row> run(Path binary, Path gguf, int pp, int tg, int[] pl, int threads, long timeoutSeconds)
            throws IOException, InterruptedException {
        if (!Files.isExecutable(binary)) throw new IOException(binary + " is not an executable file (tools/build-llama-cpp.sh builds llama-batched-bench)");
        int maxPl = Arrays.stream(pl).max().orElse(1);
        List<String> cmd = List.of(binary.toString(), "-m", gguf.toString(), "-c", Integer.toString(maxPl * (pp + tg)),
                "-b", "2048", "-ub", "512", "-npp", Integer.toString(pp), "-ntg", Integer.toString(tg),
                "-npl", Arrays.stream(pl).mapToObj(Integer::toString).collect(Collectors.joining(",")),
                "-t", Integer.toString(threads), "-tb", Integer.toString(threads), "--output-format", "jsonl");
        Path log = Files.createTempFile("llama-batched-bench", ".log");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            boolean done = p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
            if (!done) p.destroyForcibly().waitFor();
            String out = Files.readString(log, StandardCharsets.UTF_8);
            List<Row> rows = parse(out);
            if (!done || p.exitValue() != 0 || rows.size() != pl.length)
                throw new IOException(String.join(" ", cmd) + (done ? " exited with " + p.exitValue() + " and " + rows.size() + " of "
                        + pl.length + " result lines" : " ran past " + timeoutSeconds + " s") + "; its output ends:\n" + tail(out, 1500));
            return rows;
        } finally {
            Files.deleteIfExists(log);
        }
    }

    /** The result lines of {@code --output-format jsonl} output (other lines, llama.cpp's log, are skipped). */
    public static List<Row> parse(String output) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<Row> rows = new ArrayList<>();
        for (String line : output.split("\n")) {
            line = line.strip();
            if (!line.startsWith("{") || !line.contains("\"speed_tg\"")) continue;
            JsonNode j = json.readTree(line);
            rows.add(new Row(j.get("pp").asInt(), j.get("tg").asInt(), j.get("pl").asInt(), j.get("t_pp").asDouble(),
                    j.get("speed_pp").asDouble(), j.get("t_tg").asDouble(), j.get("speed_tg").asDouble(), j.get("t").asDouble(),
                    j.get("speed").asDouble()));
        }
        return rows;
    }

    private static String tail(String s, int n) { return s.length() <= n ? s : s.substring(s.length() - n); }
}
