package dev.jseek.serve;

import java.io.IOException;

/**
 * {@code POST /v1/chat/completions}: a {@link ChatRequest} rendered with the DeepSeek-V3 chat template, answered as
 * one {@code chat.completion} or, with {@code stream: true}, as {@code chat.completion.chunk} events: the first with
 * {@code delta.role = "assistant"}, then one per released piece of text ({@code delta.content}), then an empty delta
 * with finish_reason, optionally a usage chunk, then {@code [DONE]}. With n > 1 every choice streams under its
 * index. With {@code tools}, generated tool calls come back as {@code tool_calls} (finish_reason "tool_calls"; when
 * streaming, in the last chunk of the choice). A thinking model's reasoning (DeepSeek-R1's, V3.1's with
 * {@code chat_template_kwargs.thinking}) comes back as {@code reasoning_content} beside {@code content}, as DeepSeek's
 * API returns it ({@link ReasoningSplit}).
 */
final class ChatCompletionsHandler extends GenerationHandler {
    ChatCompletionsHandler(ModelRunner runner, ServerOptions options) {
        super("/v1/chat/completions", runner, options);
    }

    @Override void serve(ApiCall call) throws IOException, InterruptedException {
        ChatRequest req = ChatRequest.parse(call.jsonBody(), options.defaults());
        Generation g = start(req.tools().prompt(runner, req.messages(), req.templateKwargs()), "messages", req.params(), "chatcmpl");
        Boolean opened = reasoningOpened(g.prompt()); // null: not a thinking model's template
        if (g.params().stream()) stream(call, g, req.tools(), opened);
        else answer(call, g, req.tools(), opened);
    }

    /** One {@code chat.completion}. */
    private void answer(ApiCall call, Generation g, Tools tools, Boolean opened) throws IOException, InterruptedException {
        ModelRunner.Outcome[] rs = run(g, i -> null, call.cancellation());
        for (int i = 0; i < rs.length; i++) rs[i] = split(tools.parse(runner, rs[i]), opened);
        call.tokens(rs);
        if (call.clientGone()) return;
        call.sendJson(200, OpenAiJson.chatCompletion(g.id(), g.created(), g.model(), rs, g.logprobs() ? runner.tokenizer() : null));
    }

    /**
     * {@code chat.completion.chunk} events: the role, the text as it comes (split into reasoning and content for a
     * thinking model; with tools: all in the last chunk), the end.
     */
    private void stream(ApiCall call, Generation g, Tools tools, Boolean opened) throws IOException, InterruptedException {
        String id = g.id(), model = g.model();
        long created = g.created();
        SseWriter sse = call.startSse();
        boolean withTools = tools.active();
        for (int i = 0; i < g.params().n(); i++) sse.event(OpenAiJson.chatChunk(id, created, model, i, "assistant", "", null));
        ReasoningSplit[] splits = new ReasoningSplit[g.params().n()];
        ModelRunner.Outcome[] rs = run(g, i -> {
            if (withTools) return d -> !sse.broken();
            if (opened == null) return d -> sse.event(OpenAiJson.chatChunk(id, created, model, i, null, d, null));
            ReasoningSplit s = splits[i] = new ReasoningSplit(opened);
            return d -> {
                ReasoningSplit.Parts parts = s.feed(d);
                return parts.isEmpty() ? !sse.broken() : sse.event(chunk(id, created, model, i, parts));
            };
        }, call.cancellation());
        call.tokens(rs);
        if (call.clientGone()) return;
        for (int i = 0; i < rs.length; i++) {
            if (splits[i] != null) {
                ReasoningSplit.Parts rest = splits[i].finish();
                if (!rest.isEmpty()) sse.event(chunk(id, created, model, i, rest));
            }
            ModelRunner.Outcome r = split(tools.parse(runner, rs[i]), opened);
            var last = OpenAiJson.chatChunk(id, created, model, i, null, null, r.finishReason());
            var choice = (com.fasterxml.jackson.databind.node.ObjectNode) last.get("choices").get(0);
            if (withTools) {
                var delta = (com.fasterxml.jackson.databind.node.ObjectNode) choice.get("delta");
                if (r.toolCalls() != null && !r.toolCalls().isEmpty()) {
                    var tc = OpenAiJson.toolCalls(r.toolCalls());
                    for (int j = 0; j < tc.size(); j++) ((com.fasterxml.jackson.databind.node.ObjectNode) tc.get(j)).put("index", j);
                    delta.set("tool_calls", tc);
                    choice.put("finish_reason", "tool_calls");
                } else {
                    delta.put("content", r.text());
                }
                if (r.reasoning() != null) delta.put("reasoning_content", r.reasoning());
            }
            if (g.logprobs() && r.completion() != null) choice.set("logprobs", OpenAiJson.chatLogprobs(r.completion().tokens(), runner.tokenizer()));
            sse.event(last);
        }
        if (g.params().includeUsage()) sse.event(OpenAiJson.usageChunk(id, "chat.completion.chunk", created, model, rs));
        sse.done();
    }

    /**
     * For a thinking model's template ({@link dev.jseek.tokenizer.ChatTemplate#splitsReasoning}), whether the prompt leaves
     * the answer inside {@code <think>}; null for any other template (its answers are not split).
     */
    private Boolean reasoningOpened(int[] prompt) {
        if (!dev.jseek.tokenizer.ChatTemplate.splitsReasoning(runner.tokenizer())) return null;
        int[] tail = java.util.Arrays.copyOfRange(prompt, Math.max(0, prompt.length - 16), prompt.length);
        return ReasoningSplit.opens(runner.tokenizer().decode(tail, false));
    }

    private static ModelRunner.Outcome split(ModelRunner.Outcome r, Boolean opened) {
        if (opened == null || r.toolCalls() != null && !r.toolCalls().isEmpty()) return r;
        ReasoningSplit.Parts parts = ReasoningSplit.whole(r.text(), opened);
        return r.withReasoning(parts.reasoning(), parts.content());
    }

    private static com.fasterxml.jackson.databind.node.ObjectNode chunk(String id, long created, String model, int i, ReasoningSplit.Parts parts) {
        return OpenAiJson.chatChunk(id, created, model, i, null, parts.reasoning().isEmpty() ? null : parts.reasoning(),
                parts.content().isEmpty() ? null : parts.content(), null);
    }
}
