package dev.jseek.serve;

import java.io.IOException;
import java.util.Set;

/**
 * {@code POST /v1/chat/completions}: a {@link ChatRequest} rendered with the DeepSeek-V3 chat template, answered as
 * one {@code chat.completion} or, with {@code stream: true}, as {@code chat.completion.chunk} events: the first with
 * {@code delta.role = "assistant"}, then one per released piece of text ({@code delta.content}), then an empty delta
 * with finish_reason, optionally a usage chunk, then {@code [DONE]}. With n > 1 every choice streams under its
 * index. With {@code tools}, generated tool calls come back as {@code tool_calls} (finish_reason "tool_calls"; when
 * streaming, in the last chunk of the choice).
 */
final class ChatCompletionsHandler extends ApiHandler {
    private final ModelRunner runner;

    ChatCompletionsHandler(ModelRunner runner, ServerOptions options) {
        super("/v1/chat/completions", Set.of("POST"), options);
        this.runner = runner;
    }

    @Override void serve(ApiCall call) throws IOException, InterruptedException {
        ChatRequest req = ChatRequest.parse(call.jsonBody(), options.defaults());
        int[] prompt = req.tools().prompt(runner, req.messages());
        runner.checkPrompt(prompt, "messages");
        SamplingParams p = req.params();
        String id = OpenAiJson.newId("chatcmpl"), model = options.modelName();
        long created = System.currentTimeMillis() / 1000;
        long deadline = options.deadlineNanos();
        admitGeneration(runner, prompt, p, "messages");
        boolean lp = p.topLogprobs() >= 0;
        if (!p.stream()) {
            ModelRunner.Outcome[] rs = Choices.run(runner, prompt, "messages", p, i -> null, call.cancellation(), deadline);
            for (int i = 0; i < rs.length; i++) rs[i] = req.tools().parse(runner, rs[i]);
            call.tokens(rs);
            if (call.clientGone()) return;
            call.sendJson(200, OpenAiJson.chatCompletion(id, created, model, rs, lp ? runner.tokenizer() : null));
            return;
        }
        SseWriter sse = call.startSse();
        boolean tools = req.tools().active();
        for (int i = 0; i < p.n(); i++) sse.event(OpenAiJson.chatChunk(id, created, model, i, "assistant", "", null));
        ModelRunner.Outcome[] rs = Choices.run(runner, prompt, "messages", p,
                i -> tools ? d -> !sse.broken() : d -> sse.event(OpenAiJson.chatChunk(id, created, model, i, null, d, null)), call.cancellation(), deadline);
        call.tokens(rs);
        if (call.clientGone()) return;
        for (int i = 0; i < rs.length; i++) {
            ModelRunner.Outcome r = req.tools().parse(runner, rs[i]);
            var last = OpenAiJson.chatChunk(id, created, model, i, null, null, r.finishReason());
            var choice = (com.fasterxml.jackson.databind.node.ObjectNode) last.get("choices").get(0);
            if (tools) {
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
            if (lp && r.completion() != null) choice.set("logprobs", OpenAiJson.chatLogprobs(r.completion().tokens(), runner.tokenizer()));
            sse.event(last);
        }
        if (p.includeUsage()) sse.event(OpenAiJson.usageChunk(id, "chat.completion.chunk", created, model, rs));
        sse.done();
    }
}
