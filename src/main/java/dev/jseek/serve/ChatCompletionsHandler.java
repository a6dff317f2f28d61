package dev.jseek.serve;

import java.io.IOException;

/**
 * {@code POST /v1/chat/completions}: a {@link ChatRequest} rendered with the DeepSeek-V3 chat template, answered as
 * one {@code chat.completion} or, with {@code stream: true}, as {@code chat.completion.chunk} events: the first with
 * {@code delta.role = "assistant"}, then one per released piece of text ({@code delta.content}), then an empty delta
 * with finish_reason, optionally a usage chunk, then {@code [DONE]}. With n > 1 every choice streams under its
 * index. With {@code tools}, generated tool calls come back as {@code tool_calls} (finish_reason "tool_calls"; when
 * streaming, in the last chunk of the choice).
 */
final class ChatCompletionsHandler extends GenerationHandler {
    ChatCompletionsHandler(ModelRunner runner, ServerOptions options) {
        super("/v1/chat/completions", runner, options);
    }

    @Override void serve(ApiCall call) throws IOException, InterruptedException {
        ChatRequest req = ChatRequest.parse(call.jsonBody(), options.defaults());
        Generation g = start(req.tools().prompt(runner, req.messages()), "messages", req.params(), "chatcmpl");
        if (g.params().stream()) stream(call, g, req.tools());
        else answer(call, g, req.tools());
    }

    /** One {@code chat.completion}. */
    private void answer(ApiCall call, Generation g, Tools tools) throws IOException, InterruptedException {
        ModelRunner.Outcome[] rs = run(g, i -> null, call.cancellation());
        for (int i = 0; i < rs.length; i++) rs[i] = tools.parse(runner, rs[i]);
        call.tokens(rs);
        if (call.clientGone()) return;
        call.sendJson(200, OpenAiJson.chatCompletion(g.id(), g.created(), g.model(), rs, g.logprobs() ? runner.tokenizer() : null));
    }

    /** {@code chat.completion.chunk} events: the role, the text as it comes (with tools: all in the last chunk), the end. */
    private void stream(ApiCall call, Generation g, Tools tools) throws IOException, InterruptedException {
        String id = g.id(), model = g.model();
        long created = g.created();
        SseWriter sse = call.startSse();
        boolean withTools = tools.active();
        for (int i = 0; i < g.params().n(); i++) sse.event(OpenAiJson.chatChunk(id, created, model, i, "assistant", "", null));
        ModelRunner.Outcome[] rs = run(g,
                i -> withTools ? d -> !sse.broken() : d -> sse.event(OpenAiJson.chatChunk(id, created, model, i, null, d, null)), call.cancellation());
        call.tokens(rs);
        if (call.clientGone()) return;
        for (int i = 0; i < rs.length; i++) {
            ModelRunner.Outcome r = tools.parse(runner, rs[i]);
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
            }
            if (g.logprobs() && r.completion() != null) choice.set("logprobs", OpenAiJson.chatLogprobs(r.completion().tokens(), runner.tokenizer()));
            sse.event(last);
        }
        if (g.params().includeUsage()) sse.event(OpenAiJson.usageChunk(id, "chat.completion.chunk", created, model, rs));
        sse.done();
    }
}
