package dev.jseek.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * llama.cpp's {@code llama-bench} as a peer (built by {@code tools/build-llama-bench.sh}): one call measures prefill
 * of a {@code prompt}-token batch ({@code pp512}) and decoding of {@code gen} tokens one at a time ({@code tg128}) on
 * a GGUF file with the given threads and repetitions ({@code -o json}); its default settings otherwise (CPU, batch
 * 2048, ubatch 512, F16 KV cache, mmap).
 */
public final class LlamaBench {
    private LlamaBench() {}

    /**
     * Mean tokens/s of the prompt and of the generation test, the llama.cpp build llama-bench reports, and each
     * repetition's tokens/s of the two tests (its {@code samples_ts}).
     */
    public record Result(double prefillTokensPerSecond, double decodeTokensPerSecond, String build, double[] prefillSamples,
                         double[] decodeSamples) {}

    public static Result run(Path binary, Path gguf, int threads, int prompt, int gen, int reps) {
        List<String> cmd = new ArrayList<>(List.of(binary.toString(), "-m", gguf.toString(), "-t", Integer.toString(threads),
                "-p", Integer.toString(prompt), "-n", Integer.toString(gen), "-r", Integer.toString(reps), "-o", "json"));
        try {
            Path err = Files.createTempFile("llama-bench", ".err");
            try {
                Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                int rc = p.waitFor();
                if (rc != 0) {
                    String tail = Files.readString(err);
                    tail = tail.substring(Math.max(0, tail.length() - 2000));
                    throw new IllegalStateException(binary + " exited with " + rc + " on " + gguf + ":\n" + tail);
                }
                return parse(out, prompt, gen, binary);
            } finally {
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + binary + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while llama-bench ran", e);
        }
    }

    static Result parse(String json, int prompt, int gen, Path binary) throws IOException {
        int start = json.indexOf('[');
        if (start < 0) throw new IllegalStateException(binary + " printed no JSON array: " + json.substring(0, Math.min(300, json.length())));
        JsonNode rows = new ObjectMapper().readTree(json.substring(start));
        double pp = Double.NaN, tg = Double.NaN;
        double[] ppSamples = new double[0], tgSamples = new double[0];
        String build = "?";
        for (JsonNode r : rows) {
            int np = r.path("n_prompt").asInt(-1), ng = r.path("n_gen").asInt(-1);
            double ts = r.path("avg_ts").asDouble(Double.NaN);
            build = r.path("build_commit").asText("?") + " (build " + r.path("build_number").asText("?") + ")";
            if (np == prompt && ng == 0) {
                pp = ts;
                ppSamples = samples(r);
            }
            if (np == 0 && ng == gen) {
                tg = ts;
                tgSamples = samples(r);
            }
        }
        if (Double.isNaN(pp) || Double.isNaN(tg))
            throw new IllegalStateException(binary + ": no pp" + prompt + " and tg" + gen + " rows in its JSON output");
        return new Result(pp, tg, build, ppSamples, tgSamples);
    }

    private static double[] samples(JsonNode row) {
        JsonNode a = row.path("samples_ts");
        double[] s = new double[a.isArray() ? a.size() : 0];
        for (int i = 0; i < s.length; i++) s[i] = a.get(i).asDouble(Double.NaN);
        return s;
    }
}
