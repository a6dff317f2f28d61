package dev.jseek.serve;

import java.io.IOException;
import java.util.Set;

/**
 * {@code POST /v1/completions}: continues a text prompt ({@link CompletionRequest}; its start per
 * {@link PromptStart}), answered as one {@code text_completion} or, with {@code stream: true}, as
 * {@code text_completion} chunks (one per released piece of text, then an empty one with finish_reason, optionally a
 * usage chunk, then {@code [DONE]}).
 */
final class CompletionsHandler extends ApiHandler {
    static final String PATH = "/v1/completions";

    private final ModelRunner runner;
    private final ServerOptions options;

    CompletionsHandler(ModelRunner runner, ServerOptions options) {
        super(Set.of("POST"), options);
        this.runner = runner;
        this.options = options;
    }

    @Override boolean matches(String path) { return path.equals(PATH); }

    @Override void serve(ApiCall call) throws IOException, InterruptedException {
        CompletionRequest req = CompletionRequest.parse(call.jsonBody(), options.defaults());
        int[] prompt = req.promptIds() != null ? req.promptIds() : runner.completionPrompt(req.prompt());
        runner.checkPrompt(prompt, "prompt");
        SamplingParams p = req.params();
        String id = OpenAiJson.newId("cmpl"), model = options.modelName();
        long created = System.currentTimeMillis() / 1000;
        admitGeneration(runner, prompt, p);
        if (!p.stream()) {
            ModelRunner.Outcome r = runner.run(prompt, "prompt", p, null, call.cancellation());
            call.tokens(r);
            if (r.clientGone()) return;
            call.tokens(r);
            call.sendJson(200, OpenAiJson.completion(id, created, model, r));
            return;
        }
        SseWriter sse = call.startSse();
        ModelRunner.Outcome r = runner.run(prompt, "prompt", p,
                d -> sse.event(OpenAiJson.completionChunk(id, created, model, d, null)), call.cancellation());
        call.tokens(r);
        if (r.clientGone()) return;
        sse.event(OpenAiJson.completionChunk(id, created, model, "", r.finishReason()));
        if (p.includeUsage()) sse.event(OpenAiJson.usageChunk(id, "text_completion", created, model, r));
        sse.done();
    }
}
