package dev.jseek.serve;

import static dev.jseek.serve.RequestFields.describe;
import static dev.jseek.serve.RequestFields.given;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A {@code POST /v1/completions} request: a text prompt (a string, or an array holding exactly one string), or the
 * prompt's token ids (an array of integers, as OpenAI allows), and the sampling options. A non-empty {@code suffix}
 * (OpenAI's insertion) makes the text prompt the code before a hole and the suffix the code after it: the model
 * fills the middle from the fill-in-the-middle prompt it was trained on ({@link dev.jseek.tokenizer.Prompts#fim}).
 *
 * @param prompt    the prompt text, or null when {@code promptIds} is given
 * @param promptIds the prompt as token ids, or null when {@code prompt} is given
 * @param suffix    the text after the hole (fill in the middle), or null
 */
public record CompletionRequest(String prompt, int[] promptIds, String suffix, SamplingParams params) {
    public CompletionRequest(String prompt, int[] promptIds, SamplingParams params) { this(prompt, promptIds, null, params); }

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
        String suffix = RequestFields.optString(o, "suffix", "suffix");
        if (suffix != null && suffix.isEmpty()) suffix = null;            // OpenAI's default: no insertion
        if (suffix != null && text == null)
            throw ApiError.invalid("suffix", "suffix needs a text prompt (the code before the hole), not token ids");
        return new CompletionRequest(text, ids, suffix, SamplingParams.parse(o, d));
    }
}
