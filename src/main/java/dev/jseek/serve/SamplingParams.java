package dev.jseek.serve;

import static dev.jseek.serve.RequestFields.describe;
import static dev.jseek.serve.RequestFields.given;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jseek.infer.LogitAdjust;
import dev.jseek.infer.LogitBias;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The generation options shared by {@code /v1/chat/completions} and {@code /v1/completions}, validated, with the
 * server's defaults filled in.
 *
 * @param maxTokens    tokens to generate at most (before clamping to the context), >= 1
 * @param temperature  0 = greedy; >= 0
 * @param topP         nucleus mass in (0, 1]
 * @param topK         k most likely tokens (0 = all; a vLLM-style extension, not an OpenAI field)
 * @param seed         sampling seed (random when the request gives none)
 * @param stop         stop strings (the text ends before the first occurrence; empty strings dropped)
 * @param stream       answer with Server-Sent Events
 * @param includeUsage streaming only: {@code stream_options.include_usage}, a last chunk with usage
 * @param topLogprobs  -1: no logprobs; else the chosen token's log-probability and this many alternatives
 *                     (chat: {@code logprobs: true} with {@code top_logprobs}; completions: {@code logprobs: k})
 * @param n            choices to generate (each its own sequence in the batch; seeds seed, seed+1, ...)
 * @param ignoreEos    {@code ignore_eos} (a vLLM extension): generate past the end-of-sequence token, up to maxTokens
 * @param adjust       {@code presence_penalty} and {@code frequency_penalty} (in [-2, 2]), vLLM's {@code repetition_penalty}
 *                     (in (0, 10]) and {@code logit_bias} (token id, a string, to a value in [-100, 100]): {@link LogitAdjust}
 */
public record SamplingParams(int maxTokens, float temperature, float topP, int topK, long seed, List<String> stop,
                             boolean stream, boolean includeUsage, int topLogprobs, int n, boolean ignoreEos, LogitAdjust adjust) {
    /** Stop strings per request at most (OpenAI allows 4). */
    public static final int MAX_STOP = 16;
    /** Choices per request at most. */
    public static final int MAX_N = 16;

    public SamplingParams(int maxTokens, float temperature, float topP, int topK, long seed, List<String> stop,
                          boolean stream, boolean includeUsage) {
        this(maxTokens, temperature, topP, topK, seed, stop, stream, includeUsage, -1, 1, false, LogitAdjust.NONE);
    }

    /** The parameters of choice {@code i} of n: seed + i. */
    public SamplingParams choice(int i) {
        return new SamplingParams(maxTokens, temperature, topP, topK, seed + i, stop, stream, includeUsage, topLogprobs, 1, ignoreEos, adjust);
    }

    public SamplingParams {
        stop = List.copyOf(stop);
        if (adjust == null) adjust = LogitAdjust.NONE;
    }

    /** The server-wide defaults: max tokens and temperature when a request gives none. */
    public record Defaults(int maxTokens, float temperature) {}

    /** Reads and validates the sampling fields of a request body. */
    static SamplingParams parse(ObjectNode o, Defaults d) {
        Long mct = RequestFields.optInteger(o, "max_completion_tokens");
        Long mt = RequestFields.optInteger(o, "max_tokens");
        String mField = mct != null ? "max_completion_tokens" : "max_tokens";
        long max = mct != null ? mct : mt != null ? mt : d.maxTokens();
        if (max < 1) throw ApiError.invalid(mField, mField + " must be at least 1, got " + max);
        int maxTokens = (int) Math.min(max, Integer.MAX_VALUE);

        Double t = RequestFields.optNumber(o, "temperature");
        float temperature = t != null ? t.floatValue() : d.temperature();
        if (t != null && !(t >= 0)) throw ApiError.invalid("temperature", "temperature must be >= 0, got " + t);
        if (t != null && Float.isInfinite(temperature))
            throw ApiError.invalid("temperature", "temperature must be at most " + Float.MAX_VALUE + " (a float), got " + t);

        Double p = RequestFields.optNumber(o, "top_p");
        if (p != null && !(p > 0 && p <= 1)) throw ApiError.invalid("top_p", "top_p must be in (0, 1], got " + p);
        float topP = p == null ? 1f : p.floatValue();
        if (!(topP > 0)) throw ApiError.invalid("top_p", "top_p must be at least " + Float.MIN_NORMAL + " (a float), got " + p);

        Long k = RequestFields.optInteger(o, "top_k");
        if (k != null && k < -1) throw ApiError.invalid("top_k", "top_k must be >= 0 (0 or -1 = no cut), got " + k);
        int topK = k == null || k <= 0 ? 0 : (int) Math.min(k, Integer.MAX_VALUE);

        Long s = RequestFields.optInteger(o, "seed");
        long seed = s != null ? s : ThreadLocalRandom.current().nextLong();

        Long n = RequestFields.optInteger(o, "n");
        if (n != null && (n < 1 || n > MAX_N)) throw ApiError.invalid("n", "n must be in 1.." + MAX_N + ", got " + n);

        Boolean stream = RequestFields.optBoolean(o, "stream");
        boolean includeUsage = false;
        JsonNode so = o.get("stream_options");
        if (given(so)) {
            if (!so.isObject()) throw ApiError.invalid("stream_options", "stream_options must be an object, got " + describe(so));
            Boolean iu = RequestFields.optBoolean((ObjectNode) so, "include_usage");
            includeUsage = iu != null && iu;
        }
        Boolean ignoreEos = RequestFields.optBoolean(o, "ignore_eos");
        float presence = penalty(o, "presence_penalty"), frequency = penalty(o, "frequency_penalty");
        Double rp = RequestFields.optNumber(o, "repetition_penalty");
        if (rp != null && !(rp > 0 && rp <= 10))
            throw ApiError.invalid("repetition_penalty", "repetition_penalty must be in (0, 10] (1 = none), got " + rp);
        LogitAdjust adjust = new LogitAdjust(presence, frequency, rp == null ? 1f : rp.floatValue(), logitBias(o.get("logit_bias")));
        unsupported(o);
        return new SamplingParams(maxTokens, temperature, topP, topK, seed, stops(o.get("stop")),
                stream != null && stream, includeUsage, logprobs(o), n == null ? 1 : n.intValue(), ignoreEos != null && ignoreEos, adjust);
    }

    /**
     * {@code logit_bias}: an object from token ids (decimal strings) to numbers in [-100, 100], as OpenAI's; empty when
     * absent or null. Ids past the vocabulary are refused when the request runs ({@code ModelRunner}).
     */
    private static LogitBias logitBias(JsonNode b) {
        if (!given(b)) return LogitBias.NONE;
        if (!b.isObject()) throw ApiError.invalid("logit_bias", "logit_bias must be an object {\"token id\": bias}, got " + describe(b));
        if (b.size() > LogitBias.MAX_ENTRIES)
            throw ApiError.invalid("logit_bias", "logit_bias has " + b.size() + " tokens; at most " + LogitBias.MAX_ENTRIES);
        int[] ids = new int[b.size()];
        float[] vs = new float[b.size()];
        int i = 0;
        for (var e : b.properties()) {
            String k = e.getKey();
            int id;
            try {
                id = Integer.parseInt(k);
            } catch (NumberFormatException x) {
                id = -1;
            }
            if (id < 0 || !k.equals(Integer.toString(id)))
                throw ApiError.invalid("logit_bias", "logit_bias keys are token ids (integers >= 0), got \"" + k + "\"");
            JsonNode v = e.getValue();
            if (!v.isNumber() || !(v.doubleValue() >= -100 && v.doubleValue() <= 100))
                throw ApiError.invalid("logit_bias", "logit_bias[\"" + k + "\"] must be a number in [-100, 100], got " + describe(v));
            ids[i] = id;
            vs[i++] = v.floatValue();
        }
        return new LogitBias(ids, vs);
    }

    /** {@code presence_penalty} / {@code frequency_penalty}: 0 when absent; in [-2, 2] as OpenAI's. */
    private static float penalty(ObjectNode o, String field) {
        Double v = RequestFields.optNumber(o, field);
        if (v == null) return 0f;
        if (!(v >= -2 && v <= 2)) throw ApiError.invalid(field, field + " must be in [-2, 2], got " + v);
        return v.floatValue();
    }

    /**
     * Chat: {@code logprobs: true} and optionally {@code top_logprobs: 0..20}; completions: {@code logprobs: 0..5}
     * (an integer). Returns -1 when no logprobs are asked for.
     */
    private static int logprobs(ObjectNode o) {
        JsonNode lp = o.get("logprobs");
        Long top = RequestFields.optInteger(o, "top_logprobs");
        if (top != null && (top < 0 || top > 20)) throw ApiError.invalid("top_logprobs", "top_logprobs must be in 0..20, got " + top);
        if (!given(lp) || (lp.isBoolean() && !lp.booleanValue())) {
            if (top != null && top > 0)
                throw ApiError.invalid("top_logprobs", "top_logprobs needs logprobs: true");
            return -1;
        }
        if (lp.isBoolean()) return top == null ? 0 : top.intValue();
        if (lp.isIntegralNumber()) {
            long k = lp.longValue();
            if (k < 0 || k > 5) throw ApiError.invalid("logprobs", "logprobs must be in 0..5 (completions) or true/false (chat), got " + k);
            return (int) k;
        }
        throw ApiError.invalid("logprobs", "logprobs must be true/false (chat) or an integer 0..5 (completions), got " + describe(lp));
    }

    private static List<String> stops(JsonNode n) {
        List<String> out = new ArrayList<>();
        if (!given(n)) return out;
        if (n.isTextual()) {
            if (!n.textValue().isEmpty()) out.add(n.textValue());
            return out;
        }
        if (!n.isArray()) throw ApiError.invalid("stop", "stop must be a string or an array of strings, got " + describe(n));
        if (n.size() > MAX_STOP) throw ApiError.invalid("stop", "stop has " + n.size() + " strings; at most " + MAX_STOP);
        for (int i = 0; i < n.size(); i++) {
            JsonNode e = n.get(i);
            if (!e.isTextual()) throw ApiError.invalid("stop", "stop[" + i + "] must be a string, got " + describe(e));
            if (!e.textValue().isEmpty()) out.add(e.textValue());
        }
        return out;
    }

    /** Options this server does not implement: refused when they would change the answer, ignored when neutral. */
    private static void unsupported(ObjectNode o) {
        Long bo = RequestFields.optInteger(o, "best_of");
        if (bo != null && bo != 1) throw ApiError.invalid("best_of", "best_of must be 1, got " + bo);
        JsonNode rf = o.get("response_format");
        if (given(rf)) {
            JsonNode type = rf.isObject() ? rf.get("type") : null;
            if (!(type != null && type.isTextual() && type.textValue().equals("text")))
                throw ApiError.invalid("response_format", "response_format is not supported by this server (no constrained "
                        + "decoding: JSON mode and JSON schemas would not be enforced); only {\"type\": \"text\"}, got " + describe(rf));
        }
        Boolean echo = RequestFields.optBoolean(o, "echo");
        if (echo != null && echo) throw ApiError.invalid("echo", "echo is not supported by this server");
        RequestFields.optString(o, "model", "model"); // any name is accepted (one model is served), but a string
    }
}
