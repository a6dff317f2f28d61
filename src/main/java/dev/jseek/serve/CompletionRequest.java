package dev.jseek.serve;

import static dev.jseek.serve.RequestFields.describe;
import static dev.jseek.serve.RequestFields.given;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@code POST /v1/completions} request: its prompts and the sampling options. {@code prompt} is what OpenAI allows:
 * a string, an array of strings, an array of token ids, or an array of token-id arrays; each prompt of an array gets
 * its own {@code n} choices (choice index = prompt index x n + choice), all decoded together by the engine. A
 * non-empty {@code suffix} (OpenAI's insertion) makes each text prompt the code before a hole and the suffix the code
 * after it: the model fills the middle from the fill-in-the-middle prompt it was trained on
 * ({@link dev.jseek.tokenizer.Prompts#fim}).
 *
 * @param prompts   the prompt texts, or null when {@code promptIds} is given
 * @param promptIds the prompts as token ids, or null when {@code prompts} is given
 * @param suffix    the text after the hole (fill in the middle), or null
 */
public record CompletionRequest(List<String> prompts, List<int[]> promptIds, String suffix, SamplingParams params) {
    /** The most sequences (prompts x n) one request may ask for. */
    public static final int MAX_SEQUENCES = 64;

    /** How many prompts. */
    public int count() { return prompts != null ? prompts.size() : promptIds.size(); }

    static CompletionRequest parse(ObjectNode o, SamplingParams.Defaults d) {
        for (String f : new String[] {"tools", "tool_choice"})
            if (o.has(f)) throw ApiError.invalid(f, f + " belongs to /v1/chat/completions; /v1/completions continues a text prompt");
        JsonNode p = o.get("prompt");
        if (!given(p)) throw ApiError.invalid("prompt", "prompt is required (a string)");
        List<String> texts = null;
        List<int[]> ids = null;
        if (p.isTextual()) {
            texts = List.of(p.textValue());
        } else if (p.isArray() && !p.isEmpty() && p.get(0).isTextual()) {
            texts = new ArrayList<>();
            for (int i = 0; i < p.size(); i++) {
                if (!p.get(i).isTextual())
                    throw ApiError.invalid("prompt", "prompt[" + i + "] must be a string like prompt[0], got " + describe(p.get(i)));
                texts.add(p.get(i).textValue());
            }
        } else if (p.isArray() && !p.isEmpty() && p.get(0).isNumber()) {
            ids = List.of(tokenIds(p, "prompt"));
        } else if (p.isArray() && !p.isEmpty() && p.get(0).isArray()) {
            ids = new ArrayList<>();
            for (int i = 0; i < p.size(); i++) {
                JsonNode a = p.get(i);
                if (!a.isArray() || a.isEmpty())
                    throw ApiError.invalid("prompt", "prompt[" + i + "] must be a non-empty array of token ids like prompt[0], got " + describe(a));
                ids.add(tokenIds(a, "prompt[" + i + "]"));
            }
        } else {
            throw ApiError.invalid("prompt", "prompt must be a string, an array of strings, an array of token ids or an array of "
                    + "token-id arrays, got " + describe(p));
        }
        String suffix = RequestFields.optString(o, "suffix", "suffix");
        if (suffix != null && suffix.isEmpty()) suffix = null;            // OpenAI's default: no insertion
        if (suffix != null && texts == null)
            throw ApiError.invalid("suffix", "suffix needs a text prompt (the code before the hole), not token ids");
        SamplingParams params = SamplingParams.parse(o, d);
        int count = texts != null ? texts.size() : ids.size();
        if ((long) count * params.n() > MAX_SEQUENCES)
            throw ApiError.invalid("prompt", count + " prompts x n = " + params.n() + " is " + (long) count * params.n()
                    + " sequences; one request may ask for " + MAX_SEQUENCES + " at most");
        return new CompletionRequest(texts, ids, suffix, params);
    }

    private static int[] tokenIds(JsonNode a, String path) {
        int[] ids = new int[a.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode e = a.get(i);
            if (!e.isIntegralNumber() || !e.canConvertToInt() || e.intValue() < 0)
                throw ApiError.invalid("prompt", path + "[" + i + "] must be a token id (an integer >= 0), got " + describe(e));
            ids[i] = e.intValue();
        }
        return ids;
    }
}
