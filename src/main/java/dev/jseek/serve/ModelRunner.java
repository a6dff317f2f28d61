package dev.jseek.serve;

import dev.jseek.api.Completion;
import dev.jseek.api.JseekModel;
import dev.jseek.api.PromptStart;
import dev.jseek.api.Sampling;
import dev.jseek.infer.BatchEngine;
import dev.jseek.infer.EngineOptions;
import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.tokenizer.Message;
import dev.jseek.tokenizer.Tokenizer;
import dev.jseek.tokenizer.ToolCall;
import java.util.List;

/**
 * The served model: turns a prompt and {@link SamplingParams} into text through a {@link JseekModel}, whose
 * continuous-batching engine ({@link BatchEngine}) decodes all admitted requests together (each with its own paged
 * latent cache). Stops at EOS, a stop string, max_tokens, the context length or the request's deadline:
 * max_tokens is clamped so that prompt + completion fit {@code max_position_embeddings}. Engine refusals become
 * API errors: a full queue 429 (with Retry-After), a prompt that can never fit the cache 400, shutdown 503.
 */
public final class ModelRunner implements AutoCloseable {
    /** Receives the completion text piece by piece; returns false when nobody listens any more (generation stops). */
    @FunctionalInterface
    public interface TextSink {
        boolean accept(String delta);
    }

    /**
     * What one request produced. {@code completionTokens} counts every generated id (EOS included);
     * {@code finishReason} is "stop" (EOS or a stop string) or "length" (max_tokens, the context or the deadline).
     */
    public record Outcome(String text, int promptTokens, int completionTokens, String finishReason, boolean clientGone,
                          Completion completion, List<ToolCall> toolCalls) {
        public Outcome(String text, int promptTokens, int completionTokens, String finishReason, boolean clientGone) {
            this(text, promptTokens, completionTokens, finishReason, clientGone, null, null);
        }

        /** This outcome with the tool calls parsed from its text. */
        public Outcome withToolCalls(List<ToolCall> calls) {
            return new Outcome(text, promptTokens, completionTokens, finishReason, clientGone, completion, calls);
        }
    }

    private final JseekModel model;
    private final int contextLength, vocabSize;
    private volatile boolean closing;

    /** Takes ownership of {@code model} (closed by {@link #close}); the engine gets {@link EngineOptions#defaults()}. */
    public ModelRunner(DeepSeekV3 model, Tokenizer tokenizer, AttnMode mode, PromptStart promptStart) {
        this(model, tokenizer, promptStart, absorbOnly(mode, EngineOptions.defaults()));
    }

    private static EngineOptions absorbOnly(AttnMode mode, EngineOptions o) {
        if (mode != AttnMode.ABSORB)
            throw new IllegalArgumentException("the batch engine decodes with absorbed attention (its cache is the MLA latent); --attn "
                    + mode.name().toLowerCase() + " is for `jseek generate` and `forward`");
        return o;
    }

    /** Takes ownership of {@code model} (closed by {@link #close}). */
    public ModelRunner(DeepSeekV3 model, Tokenizer tokenizer, PromptStart promptStart, EngineOptions engine) {
        this.model = new JseekModel(model, tokenizer, engine, promptStart);
        this.contextLength = model.config.maxPositionEmbeddings();
        this.vocabSize = model.config.vocabSize();
    }

    public Tokenizer tokenizer() { return model.tokenizer(); }

    public JseekModel model() { return model; }

    /** The engine's state (queue, batch, cache blocks) for /metrics. */
    public BatchEngine.Stats stats() { return model.engine().stats(); }

    /** max_position_embeddings: prompt + completion tokens at most. */
    public int contextLength() { return contextLength; }

    /** The prompt ids of a conversation: DeepSeek-V3's chat template with the assistant prompt at the end. */
    public int[] chatPrompt(List<Message> messages) { return model.chatPrompt(messages); }

    /** The prompt ids of a completion prompt (see {@link PromptStart}). */
    public int[] completionPrompt(String text) { return model.completionPrompt(text); }

    /**
     * Refuses (400, naming {@code promptParam}) a prompt that is empty, has ids outside the model's vocabulary, or
     * leaves no room in the context for one token.
     */
    public void checkPrompt(int[] prompt, String promptParam) {
        int ctx = contextLength();
        for (int i = 0; i < prompt.length; i++)
            if (prompt[i] < 0 || prompt[i] >= vocabSize)
                throw ApiError.invalid(promptParam, "prompt token " + i + " is " + prompt[i] + ", outside the model's vocabulary 0.." + (vocabSize - 1));
        if (prompt.length == 0) throw ApiError.invalid(promptParam, "the prompt is empty");
        if (prompt.length >= ctx)
            throw ApiError.invalid(promptParam, "the prompt is " + prompt.length + " tokens; the model's context is " + ctx
                    + " tokens (max_position_embeddings), which leaves no room for a completion");
    }

    /**
     * Generates a completion of {@code prompt}, streaming text to {@code sink} (may be null). {@code promptParam}
     * names the request field of the prompt in errors (messages or prompt). Waits for admission in the engine.
     */
    public Outcome run(int[] prompt, String promptParam, SamplingParams p, TextSink sink) throws InterruptedException {
        return run(prompt, promptParam, p, sink, 0);
    }

    /** As {@link #run(int[], String, SamplingParams, TextSink)} with a deadline ({@link System#nanoTime()}, 0 = none). */
    public Outcome run(int[] prompt, String promptParam, SamplingParams p, TextSink sink, long deadlineNanos)
            throws InterruptedException {
        checkPrompt(prompt, promptParam);
        if (closing) throw new ApiError(503, "server_error", null, "the server is shutting down");
        Sampling s = new Sampling(p.maxTokens(), p.temperature(), p.topP(), p.topK(), p.seed(), p.stop(), p.topLogprobs());
        Completion c;
        try {
            c = model.generate(prompt, s, sink == null ? null : sink::accept, deadlineNanos);
        } catch (BatchEngine.QueueFullException e) {
            throw new ApiError(429, "rate_limit_error", null, "the server is busy: " + e.getMessage()).retryAfter(1);
        } catch (BatchEngine.CacheTooSmallException e) {
            throw ApiError.invalid(promptParam, e.getMessage());
        } catch (IllegalStateException e) {
            throw new ApiError(503, "server_error", null, "the server is shutting down");
        }
        return new Outcome(c.text(), c.promptTokens(), c.completionTokens(), c.finishReason(), c.clientGone(), c, null);
    }

    /** Refuses new generations, ends the running ones at their next token, then closes the model. */
    @Override public void close() {
        closing = true;
        model.close();
    }
}
