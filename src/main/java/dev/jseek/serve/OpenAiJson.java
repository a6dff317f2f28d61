package dev.jseek.serve;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jseek.api.Completion;
import dev.jseek.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;
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

    /**
     * {@code chat.completion} with one choice per outcome (n > 1), their logprobs when asked for ({@code tok} not
     * null), and usage summed over the choices (the prompt counted once).
     */
    static ObjectNode chatCompletion(String id, long created, String model, ModelRunner.Outcome[] rs, Tokenizer tok) {
        return withChoices(id, "chat.completion", created, model, rs, rs.length, (choice, i, r) -> {
            choice.put("index", i);
            ObjectNode msg = choice.putObject("message").put("role", "assistant");
            if (r.toolCalls() != null && !r.toolCalls().isEmpty()) {
                msg.putNull("content");
                msg.set("tool_calls", toolCalls(r.toolCalls()));
            } else {
                msg.put("content", r.text());
            }
            if (r.reasoning() != null) msg.put("reasoning_content", r.reasoning());
            if (tok != null && r.completion() != null) choice.set("logprobs", chatLogprobs(r.completion().tokens(), tok));
            else choice.putNull("logprobs");
            choice.put("finish_reason", r.toolCalls() != null && !r.toolCalls().isEmpty() ? "tool_calls" : r.finishReason());
        });
    }

    /** Writes one choice (its index i, the outcome r) into the choice object. */
    private interface ChoiceWriter {
        void write(ObjectNode choice, int i, ModelRunner.Outcome r);
    }

    /**
     * A response {@code object} with one choice per outcome, each written by {@code w}, and usage summed over them
     * (each prompt counted once: outcomes come {@code perPrompt} to a prompt).
     */
    private static ObjectNode withChoices(String id, String object, long created, String model, ModelRunner.Outcome[] rs, int perPrompt,
                                          ChoiceWriter w) {
        ObjectNode o = head(id, object, created, model);
        ArrayNode choices = o.putArray("choices");
        int completion = 0;
        for (int i = 0; i < rs.length; i++) {
            w.write(choices.addObject(), i, rs[i]);
            completion += rs[i].completionTokens();
        }
        o.set("usage", usage(promptTokens(rs, perPrompt), completion));
        return o;
    }

    /** The prompt tokens of outcomes that come {@code perPrompt} to a prompt: each prompt once. */
    static int promptTokens(ModelRunner.Outcome[] rs, int perPrompt) {
        int n = 0;
        for (int i = 0; i < rs.length; i += perPrompt) n += rs[i].promptTokens();
        return n;
    }

    /** OpenAI {@code tool_calls}: [{id, type: function, function: {name, arguments}}]. */
    static ArrayNode toolCalls(java.util.List<dev.jseek.tokenizer.ToolCall> calls) {
        ArrayNode a = F.arrayNode();
        for (dev.jseek.tokenizer.ToolCall c : calls) {
            ObjectNode t = a.addObject().put("id", newId("call")).put("type", c.type());
            t.putObject("function").put("name", c.name()).put("arguments", c.arguments());
        }
        return a;
    }

    /** Chat logprobs: {"content": [{token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}]}. */
    static ObjectNode chatLogprobs(java.util.List<Completion.TokenInfo> toks, Tokenizer tok) {
        ObjectNode o = F.objectNode();
        ArrayNode content = o.putArray("content");
        for (Completion.TokenInfo t : toks) {
            if (t.logprobs() == null) continue;
            ObjectNode e = tokenEntry(t.id(), t.logprobs().logprob(), tok);
            ArrayNode top = e.putArray("top_logprobs");
            for (int j = 0; j < t.logprobs().topIds().length; j++)
                top.add(tokenEntry(t.logprobs().topIds()[j], t.logprobs().topLogprobs()[j], tok));
            content.add(e);
        }
        o.putNull("refusal");
        return o;
    }

    private static ObjectNode tokenEntry(int id, float logprob, Tokenizer tok) {
        byte[] b = tok.tokenBytes(id);
        if (b == null) b = new byte[0];
        ObjectNode e = F.objectNode().put("token", new String(b, StandardCharsets.UTF_8)).put("logprob", logprob);
        ArrayNode bytes = e.putArray("bytes");
        for (byte x : b) bytes.add(x & 0xFF);
        return e;
    }

    /** Legacy completions logprobs: {tokens, token_logprobs, top_logprobs: [{token: logprob}], text_offset}. */
    static ObjectNode completionLogprobs(java.util.List<Completion.TokenInfo> toks, Tokenizer tok) {
        ObjectNode o = F.objectNode();
        ArrayNode tokens = o.putArray("tokens"), lps = o.putArray("token_logprobs"), top = o.putArray("top_logprobs"),
                offs = o.putArray("text_offset");
        int off = 0;
        for (Completion.TokenInfo t : toks) {
            if (t.logprobs() == null) continue;
            byte[] b = tok.tokenBytes(t.id());
            String s = b == null ? "" : new String(b, StandardCharsets.UTF_8);
            tokens.add(s);
            lps.add(t.logprobs().logprob());
            ObjectNode m = top.addObject();
            for (int j = 0; j < t.logprobs().topIds().length; j++) {
                byte[] bj = tok.tokenBytes(t.logprobs().topIds()[j]);
                m.put(bj == null ? "" : new String(bj, StandardCharsets.UTF_8), t.logprobs().topLogprobs()[j]);
            }
            offs.add(off);
            off += s.length();
        }
        return o;
    }

    /**
     * {@code chat.completion.chunk}: a delta with the role (first chunk), content, or nothing (last chunk, with
     * finish_reason); null role / content / finishReason leave those out (finish_reason: JSON null).
     */
    static ObjectNode chatChunk(String id, long created, String model, String role, String content, String finishReason) {
        return chatChunk(id, created, model, 0, role, content, finishReason);
    }

    /** As {@link #chatChunk(String, long, String, String, String, String)} for choice {@code index}. */
    static ObjectNode chatChunk(String id, long created, String model, int index, String role, String content, String finishReason) {
        return chatChunk(id, created, model, index, role, null, content, finishReason);
    }

    /** As {@link #chatChunk(String, long, String, int, String, String, String)} with {@code delta.reasoning_content} when not null. */
    static ObjectNode chatChunk(String id, long created, String model, int index, String role, String reasoning, String content, String finishReason) {
        ObjectNode o = head(id, "chat.completion.chunk", created, model);
        ObjectNode choice = o.putArray("choices").addObject().put("index", index);
        ObjectNode delta = choice.putObject("delta");
        if (role != null) delta.put("role", role);
        if (reasoning != null) delta.put("reasoning_content", reasoning);
        if (content != null) delta.put("content", content);
        choice.putNull("logprobs");
        if (finishReason != null) choice.put("finish_reason", finishReason); else choice.putNull("finish_reason");
        return o;
    }

    /**
     * {@code text_completion} with one choice per outcome (several prompts' choices, {@code perPrompt} to a prompt:
     * choice index = prompt * perPrompt + c) and their logprobs when asked for ({@code tok} not null).
     */
    static ObjectNode completion(String id, long created, String model, ModelRunner.Outcome[] rs, int perPrompt, Tokenizer tok) {
        return withChoices(id, "text_completion", created, model, rs, perPrompt, (choice, i, r) -> {
            choice.put("text", r.text()).put("index", i);
            if (tok != null && r.completion() != null) choice.set("logprobs", completionLogprobs(r.completion().tokens(), tok));
            else choice.putNull("logprobs");
            choice.put("finish_reason", r.finishReason());
        });
    }

    /** A streamed {@code text_completion} chunk: a piece of text, or the last one with finish_reason. */
    static ObjectNode completionChunk(String id, long created, String model, String text, String finishReason) {
        return completionChunk(id, created, model, 0, text, finishReason);
    }

    /** As {@link #completionChunk(String, long, String, String, String)} for choice {@code index}. */
    static ObjectNode completionChunk(String id, long created, String model, int index, String text, String finishReason) {
        ObjectNode o = head(id, "text_completion", created, model);
        ObjectNode choice = o.putArray("choices").addObject().put("text", text).put("index", index);
        choice.putNull("logprobs");
        if (finishReason != null) choice.put("finish_reason", finishReason); else choice.putNull("finish_reason");
        return o;
    }

    /** The last chunk of a stream with {@code stream_options.include_usage}: no choices, usage. */
    static ObjectNode usageChunk(String id, String object, long created, String model, ModelRunner.Outcome r) {
        return usageChunk(id, object, created, model, new ModelRunner.Outcome[] {r});
    }

    /** The usage chunk of n choices (completion tokens summed, the prompt once). */
    static ObjectNode usageChunk(String id, String object, long created, String model, ModelRunner.Outcome[] rs) {
        return usageChunk(id, object, created, model, rs, rs.length);
    }

    /** The usage chunk of several prompts' choices, {@code perPrompt} to a prompt (each prompt counted once). */
    static ObjectNode usageChunk(String id, String object, long created, String model, ModelRunner.Outcome[] rs, int perPrompt) {
        ObjectNode o = head(id, object, created, model);
        o.putArray("choices");
        int completion = 0;
        for (ModelRunner.Outcome r : rs) completion += r.completionTokens();
        o.set("usage", usage(promptTokens(rs, perPrompt), completion));
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
