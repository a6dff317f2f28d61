package dev.jseek.serve;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The response bodies of the OpenAI API, field for field: chat completions and their stream chunks, text
 * completions and their chunks, the model list, usage, and the error object.
 */
final class OpenAiJson {
    private OpenAiJson() {}

    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    /** A fresh response id such as {@code chatcmpl-3f9a...} (24 hex digits). */
    static String newId(String prefix) {
        byte[] b = new byte[12];
        ThreadLocalRandom.current().nextBytes(b);
        return prefix + "-" + HexFormat.of().formatHex(b);
    }

    static ObjectNode error(ApiError e) {
        ObjectNode err = F.objectNode().put("message", e.getMessage()).put("type", e.type());
        if (e.param() != null) err.put("param", e.param()); else err.putNull("param");
        err.putNull("code");
        ObjectNode o = F.objectNode();
        o.set("error", err);
        return o;
    }

    static ObjectNode usage(int prompt, int completion) {
        return F.objectNode().put("prompt_tokens", prompt).put("completion_tokens", completion).put("total_tokens", prompt + completion);
    }

    private static ObjectNode head(String id, String object, long created, String model) {
        return F.objectNode().put("id", id).put("object", object).put("created", created).put("model", model);
    }

    /** {@code chat.completion}: one choice with the assistant message, and usage. */
    static ObjectNode chatCompletion(String id, long created, String model, ModelRunner.Outcome r) {
        ObjectNode o = head(id, "chat.completion", created, model);
        ObjectNode choice = o.putArray("choices").addObject().put("index", 0);
        choice.putObject("message").put("role", "assistant").put("content", r.text());
        choice.putNull("logprobs");
        choice.put("finish_reason", r.finishReason());
        o.set("usage", usage(r.promptTokens(), r.completionTokens()));
        return o;
    }

    /**
     * {@code chat.completion.chunk}: a delta with the role (first chunk), content, or nothing (last chunk, with
     * finish_reason); null role / content / finishReason leave those out (finish_reason: JSON null).
     */
    static ObjectNode chatChunk(String id, long created, String model, String role, String content, String finishReason) {
        ObjectNode o = head(id, "chat.completion.chunk", created, model);
        ObjectNode choice = o.putArray("choices").addObject().put("index", 0);
        ObjectNode delta = choice.putObject("delta");
        if (role != null) delta.put("role", role);
        if (content != null) delta.put("content", content);
        choice.putNull("logprobs");
        if (finishReason != null) choice.put("finish_reason", finishReason); else choice.putNull("finish_reason");
        return o;
    }

    /** {@code text_completion}: one choice with the text, and usage. */
    static ObjectNode completion(String id, long created, String model, ModelRunner.Outcome r) {
        ObjectNode o = head(id, "text_completion", created, model);
        ObjectNode choice = o.putArray("choices").addObject().put("text", r.text()).put("index", 0);
        choice.putNull("logprobs");
        choice.put("finish_reason", r.finishReason());
        o.set("usage", usage(r.promptTokens(), r.completionTokens()));
        return o;
    }

    /** A streamed {@code text_completion} chunk: a piece of text, or the last one with finish_reason. */
    static ObjectNode completionChunk(String id, long created, String model, String text, String finishReason) {
        ObjectNode o = head(id, "text_completion", created, model);
        ObjectNode choice = o.putArray("choices").addObject().put("text", text).put("index", 0);
        choice.putNull("logprobs");
        if (finishReason != null) choice.put("finish_reason", finishReason); else choice.putNull("finish_reason");
        return o;
    }

    /** The last chunk of a stream with {@code stream_options.include_usage}: no choices, usage. */
    static ObjectNode usageChunk(String id, String object, long created, String model, ModelRunner.Outcome r) {
        ObjectNode o = head(id, object, created, model);
        o.putArray("choices");
        o.set("usage", usage(r.promptTokens(), r.completionTokens()));
        return o;
    }

    /** One entry of {@code GET /v1/models}. */
    static ObjectNode model(String name, long created) {
        return F.objectNode().put("id", name).put("object", "model").put("created", created).put("owned_by", "jseek");
    }

    /** {@code GET /v1/models}: the list with the one served model. */
    static ObjectNode models(String name, long created) {
        ObjectNode o = F.objectNode().put("object", "list");
        ArrayNode data = o.putArray("data");
        data.add(model(name, created));
        return o;
    }
}
