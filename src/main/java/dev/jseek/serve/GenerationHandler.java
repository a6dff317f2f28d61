package dev.jseek.serve;

import java.util.Set;
import java.util.function.IntFunction;

/**
 * The common plumbing of the generation endpoints ({@code /v1/chat/completions}, {@code /v1/completions}): a POST
 * handler over a {@link ModelRunner} that checks a request's prompt against the model, names the response (id,
 * creation second, model), fixes its deadline, admits it ({@link #admitGeneration}) and runs its n choices
 * ({@link Choices}). The endpoints differ in how they build the prompt and write the answer.
 */
abstract class GenerationHandler extends ApiHandler {
    final ModelRunner runner;

    GenerationHandler(String path, ModelRunner runner, ServerOptions options) {
        super(path, Set.of("POST"), options);
        this.runner = runner;
    }

    /**
     * An admitted generation: the response's id, creation time (seconds) and model name, and the run's inputs (one
     * prompt, or several for a completions request with an array of prompts: n choices each).
     */
    record Generation(String id, long created, String model, long deadlineNanos, int[][] prompts, String promptParam, SamplingParams params) {
        /** Whether the request asked for logprobs. */
        boolean logprobs() { return params.topLogprobs() >= 0; }

        /** The (first) prompt. */
        int[] prompt() { return prompts[0]; }
    }

    /**
     * Checks {@code prompt} (errors name {@code promptParam}), names the response with a fresh {@code idPrefix}-... id,
     * takes the deadline from now, and admits the generation (429/400 when it cannot be).
     */
    Generation start(int[] prompt, String promptParam, SamplingParams p, String idPrefix) {
        return start(new int[][] {prompt}, promptParam, p, idPrefix);
    }

    /** As {@link #start(int[], String, SamplingParams, String)} for several prompts, n choices each. */
    Generation start(int[][] prompts, String promptParam, SamplingParams p, String idPrefix) {
        for (int[] prompt : prompts) runner.checkPrompt(prompt, promptParam);
        String id = OpenAiJson.newId(idPrefix);
        long created = System.currentTimeMillis() / 1000;
        long deadline = options.deadlineNanos();
        admitGeneration(runner, prompts, p, promptParam);
        return new Generation(id, created, options.modelName(), deadline, prompts, promptParam, p);
    }

    /**
     * Runs the choices of {@code g} (prompt i's choice c at index i n + c), choice j streaming to
     * {@code sinks.apply(j)} (null: none), until the deadline or {@code cancel}.
     */
    ModelRunner.Outcome[] run(Generation g, IntFunction<ModelRunner.TextSink> sinks, Cancellation cancel) throws InterruptedException {
        return Choices.run(runner, g.prompts(), g.promptParam(), g.params(), sinks, cancel, g.deadlineNanos());
    }
}
