package dev.jseek.serve;

import java.io.IOException;
import java.util.Set;

/**
 * {@code POST /v1/completions}: continues a text prompt ({@link CompletionRequest}; its start per
 * {@link dev.jseek.api.PromptStart}), answered as one {@code text_completion} or, with {@code stream: true}, as
 * {@code text_completion} chunks (one per released piece of text, then an empty one with finish_reason, optionally
 * a usage chunk, then {@code [DONE]}). With n > 1 every choice streams under its index; logprobs ({@code logprobs: k})
 * come with the choice, or in its last chunk when streaming.
 */
final class CompletionsHandler extends ApiHandler {
    private final ModelRunner runner;

    CompletionsHandler(ModelRunner runner, ServerOptions options) {
        super("/v1/completions", Set.of("POST"), options);
        this.runner = runner;
    }

    @Override void serve(ApiCall call) throws IOException, InterruptedException {
        CompletionRequest req = CompletionRequest.parse(call.jsonBody(), options.defaults());
        int[] prompt = req.promptIds() != null ? req.promptIds() : runner.completionPrompt(req.prompt());
        runner.checkPrompt(prompt, "prompt");
        SamplingParams p = req.params();
        String id = OpenAiJson.newId("cmpl"), model = options.modelName();
        long created = System.currentTimeMillis() / 1000;
        long deadline = options.deadlineNanos();
        admitGeneration(runner, prompt, p, "prompt");
        boolean lp = p.topLogprobs() >= 0;
        if (!p.stream()) {
            ModelRunner.Outcome[] rs = Choices.run(runner, prompt, "prompt", p, i -> null, call.cancellation(), deadline);
            call.tokens(rs);
            if (call.clientGone()) return;
            call.sendJson(200, OpenAiJson.completion(id, created, model, rs, lp ? runner.tokenizer() : null));
            return;
        }
        SseWriter sse = call.startSse();
        ModelRunner.Outcome[] rs = Choices.run(runner, prompt, "prompt", p,
                i -> d -> sse.event(OpenAiJson.completionChunk(id, created, model, i, d, null)), call.cancellation(), deadline);
        call.tokens(rs);
        if (call.clientGone()) return;
        for (int i = 0; i < rs.length; i++) {
            var last = OpenAiJson.completionChunk(id, created, model, i, "", rs[i].finishReason());
            if (lp && rs[i].completion() != null)
                ((com.fasterxml.jackson.databind.node.ObjectNode) last.get("choices").get(0))
                        .set("logprobs", OpenAiJson.completionLogprobs(rs[i].completion().tokens(), runner.tokenizer()));
            sse.event(last);
        }
        if (p.includeUsage()) sse.event(OpenAiJson.usageChunk(id, "text_completion", created, model, rs));
        sse.done();
    }
}
