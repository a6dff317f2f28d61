package dev.jseek.serve;

import static dev.jseek.serve.RequestFields.describe;
import static dev.jseek.serve.RequestFields.given;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A {@code POST /v1/completions} request: a text prompt (a string, or an array holding exactly one string), or the
 * prompt's token ids (an array of integers, as OpenAI allows), and the sampling options.
 *
 * @param prompt    the prompt text, or null when {@code promptIds} is given
 * @param promptIds the prompt as token ids, or null when {@code prompt} is given
 */
public record CompletionRequest(String prompt, int[] promptIds, SamplingParams params) {
    static CompletionRequest parse(ObjectNode o, SamplingParams.Defaults d) {
        for (String f : new String[] {"tools", "tool_choice"})
            if (o.has(f)) throw ApiError.invalid(f, f + " belongs to /v1/chat/completions; /v1/completions continues a text prompt");
        JsonNode p = o.get("prompt");
        if (!given(p)) throw ApiError.invalid("prompt", "prompt is required (a string)");
        String text = null;
        int[] ids = null;
        if (p.isTextual()) {
            text = p.textValue();
        } else if (p.isArray() && p.size() == 1 && p.get(0).isTextual()) {
            text = p.get(0).textValue();
        } else if (p.isArray() && !p.isEmpty() && p.get(0).isNumber()) {
            ids = new int[p.size()];
            for (int i = 0; i < ids.length; i++) {
                JsonNode e = p.get(i);
                if (!e.isIntegralNumber() || !e.canConvertToInt() || e.intValue() < 0)
                    throw ApiError.invalid("prompt", "prompt[" + i + "] must be a token id (an integer >= 0), got " + describe(e));
                ids[i] = e.intValue();
            }
        } else {
            throw ApiError.invalid("prompt", "prompt must be a string (or one string in an array, or an array of token ids), got "
                    + describe(p));
        }
        RequestFields.optString(o, "suffix", "suffix");
        if (given(o.get("suffix")) && !o.get("suffix").textValue().isEmpty())
            throw ApiError.invalid("suffix", "suffix (insertion) is not supported by this server; use jseek generate --fim-prefix/--fim-suffix");
        return new CompletionRequest(text, ids, SamplingParams.parse(o, d));
    }
}
