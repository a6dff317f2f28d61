package dev.jseek.serve;

import java.io.IOException;
import java.util.Set;

/**
 * {@code POST /v1/chat/completions}: a {@link ChatRequest} rendered with the DeepSeek-V3 chat template, answered as
 * one {@code chat.completion} or, with {@code stream: true}, as {@code chat.completion.chunk} events: the first with
 * {@code delta.role = "assistant"}, then one per released piece of text ({@code delta.content}), then an empty delta
 * with finish_reason, optionally a usage chunk, then {@code [DONE]}.
 */
final class ChatCompletionsHandler extends ApiHandler {
    static final String PATH = "/v1/chat/completions";

    private final ModelRunner runner;
    private final ServerOptions options;

    ChatCompletionsHandler(ModelRunner runner, ServerOptions options) {
        super(Set.of("POST"), options);
        this.runner = runner;
        this.options = options;
    }

    @Override boolean matches(String path) { return path.equals(PATH); }

    @Override void serve(ApiCall call) throws IOException, InterruptedException {
        ChatRequest req = ChatRequest.parse(call.jsonBody(), options.defaults());
        int[] prompt = runner.chatPrompt(req.messages());
        runner.checkPrompt(prompt, "messages");
        SamplingParams p = req.params();
        String id = OpenAiJson.newId("chatcmpl"), model = options.modelName();
        long created = System.currentTimeMillis() / 1000;
        admitGeneration(runner, prompt, p);
        if (!p.stream()) {
            ModelRunner.Outcome r = runner.run(prompt, "messages", p, null, call.cancellation());
            call.tokens(r);
            if (r.clientGone()) return;
            call.tokens(r);
            call.sendJson(200, OpenAiJson.chatCompletion(id, created, model, r));
            return;
        }
        SseWriter sse = call.startSse();
        sse.event(OpenAiJson.chatChunk(id, created, model, "assistant", "", null));
        ModelRunner.Outcome r = runner.run(prompt, "messages", p,
                d -> sse.event(OpenAiJson.chatChunk(id, created, model, null, d, null)), call.cancellation());
        call.tokens(r);
        if (r.clientGone()) return;
        sse.event(OpenAiJson.chatChunk(id, created, model, null, null, r.finishReason()));
        if (p.includeUsage()) sse.event(OpenAiJson.usageChunk(id, "chat.completion.chunk", created, model, r));
        sse.done();
    }
}
