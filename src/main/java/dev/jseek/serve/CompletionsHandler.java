package dev.jseek.serve;

import java.io.IOException;

/**
 * {@code POST /v1/completions}: continues a text prompt ({@link CompletionRequest}; its start per
 * {@link dev.jseek.api.PromptStart}), or with {@code suffix} fills the hole between the two, answered as one {@code text_completion} or, with {@code stream: true}, as
 * {@code text_completion} chunks (one per released piece of text, then an empty one with finish_reason, optionally
 * a usage chunk, then {@code [DONE]}). With n > 1 every choice streams under its index; logprobs ({@code logprobs: k})
 * come with the choice, or in its last chunk when streaming.
 */
final class CompletionsHandler extends GenerationHandler {
    CompletionsHandler(ModelRunner runner, ServerOptions options) {
        super("/v1/completions", runner, options);
    }

    @Override void serve(ApiCall call) throws IOException, InterruptedException {
        CompletionRequest req = CompletionRequest.parse(call.jsonBody(), options.defaults());
        int[][] prompts = new int[req.count()][];
        for (int i = 0; i < prompts.length; i++)
            prompts[i] = req.promptIds() != null ? req.promptIds().get(i)
                    : req.suffix() != null ? runner.fimPrompt(req.prompts().get(i), req.suffix()) : runner.completionPrompt(req.prompts().get(i));
        Generation g = start(prompts, "prompt", req.params(), "cmpl");
        if (g.params().stream()) stream(call, g);
        else answer(call, g);
    }

    /** One {@code text_completion}. */
    private void answer(ApiCall call, Generation g) throws IOException, InterruptedException {
        ModelRunner.Outcome[] rs = run(g, i -> null, call.cancellation());
        int n = g.params().n();
        call.tokens(rs, n);
        if (call.clientGone()) return;
        call.sendJson(200, OpenAiJson.completion(g.id(), g.created(), g.model(), rs, n, g.logprobs() ? runner.tokenizer() : null));
    }

    /** {@code text_completion} chunks: the text as it comes, then each choice's end (with its logprobs). */
    private void stream(ApiCall call, Generation g) throws IOException, InterruptedException {
        String id = g.id(), model = g.model();
        long created = g.created();
        SseWriter sse = call.startSse();
        ModelRunner.Outcome[] rs = run(g, i -> d -> sse.event(OpenAiJson.completionChunk(id, created, model, i, d, null)), call.cancellation());
        call.tokens(rs, g.params().n());
        if (call.clientGone()) return;
        for (int i = 0; i < rs.length; i++) {
            var last = OpenAiJson.completionChunk(id, created, model, i, "", rs[i].finishReason());
            if (g.logprobs() && rs[i].completion() != null)
                ((com.fasterxml.jackson.databind.node.ObjectNode) last.get("choices").get(0))
                        .set("logprobs", OpenAiJson.completionLogprobs(rs[i].completion().tokens(), runner.tokenizer()));
            sse.event(last);
        }
        if (g.params().includeUsage()) sse.event(OpenAiJson.usageChunk(id, "text_completion", created, model, rs, g.params().n()));
        sse.done();
    }
}
