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
 * latent cache). Stops at EOS, a stop string, max_tokens, the context length, the request's deadline, or when its
 * {@link Cancellation} says nobody waits any more (polled while queued and after every token): max_tokens is clamped
 * so that prompt + completion fit {@code max_position_embeddings}. Engine refusals become API errors: a full queue
 * 429 (with Retry-After), a request that can never fit the cache 400, shutdown 503; once the model's files change on
 * disk every request is refused with 503 (reading their lost pages would crash the JVM).
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
                          Completion completion, List<ToolCall> toolCalls, String reasoning) {
        public Outcome(String text, int promptTokens, int completionTokens, String finishReason, boolean clientGone) {
            this(text, promptTokens, completionTokens, finishReason, clientGone, null, null, null);
        }

        /** This outcome with the tool calls parsed from its text. */
        public Outcome withToolCalls(List<ToolCall> calls) {
            return new Outcome(text, promptTokens, completionTokens, finishReason, clientGone, completion, calls, reasoning);
        }

        /** This outcome with its text split into reasoning and reply ({@code text} becomes the reply). */
        public Outcome withReasoning(String reasoning, String reply) {
            return new Outcome(reply, promptTokens, completionTokens, finishReason, clientGone, completion, toolCalls, reasoning);
        }
    }

    private final JseekModel model;
    private final DeepSeekV3 weights;
    private final int contextLength, vocabSize;
    /** The longest token in UTF-8 bytes: a text of n chars is at least n / this many tokens. */
    private final int maxTokenBytes;
    private volatile boolean closing;
    /** {@code serve --chat-template-kwargs}: each request's chat_template_kwargs go over these. */
    private volatile java.util.Map<String, Object> templateDefaults = java.util.Map.of();
    /** Set once the model's files changed on disk: every later request is refused with it. */
    private volatile String failure;

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
        this.weights = model;
        this.contextLength = model.config.maxPositionEmbeddings();
        this.vocabSize = model.config.vocabSize();
        int longest = 1;
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            byte[] b = tokenizer.tokenBytes(id);
            if (b != null) longest = Math.max(longest, b.length);
        }
        this.maxTokenBytes = longest;
    }

    public Tokenizer tokenizer() { return model.tokenizer(); }

    /** The template variables under every request's {@code chat_template_kwargs} ({@code serve --chat-template-kwargs}). */
    public void templateDefaults(java.util.Map<String, Object> v) { templateDefaults = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(v)); }

    public java.util.Map<String, Object> templateDefaults() { return templateDefaults; }

    public JseekModel model() { return model; }

    /** The engine's state (queue, batch, cache blocks) for /metrics. */
    public BatchEngine.Stats stats() { return model.engine().stats(); }

    /** max_position_embeddings: prompt + completion tokens at most. */
    public int contextLength() { return contextLength; }

    /** The prompt ids of a conversation: DeepSeek-V3's chat template with the assistant prompt at the end. */
    public int[] chatPrompt(List<Message> messages) { return chatPrompt(messages, java.util.Map.of()); }

    /**
     * The prompt ids of a conversation with the request's {@code chat_template_kwargs}
     * ({@link dev.jseek.tokenizer.ChatTemplate#render(dev.jseek.tokenizer.Tokenizer, List, boolean, java.util.Map)}):
     * a Jinja-rendered template gets them all as variables; a family template reads only {@code thinking}, and a 400
     * names any other key, or {@code thinking} asked of a template without the switch.
     */
    public int[] chatPrompt(List<Message> messages, java.util.Map<String, Object> requestKwargs) {
        java.util.Map<String, Object> templateKwargs = requestKwargs;
        if (!templateDefaults.isEmpty()) {
            templateKwargs = new java.util.LinkedHashMap<>(templateDefaults);
            templateKwargs.putAll(requestKwargs);
        }
        long chars = 0;
        for (Message m : messages) {
            if (m.content() != null) chars += m.content().length();
            for (var t : m.toolCalls()) chars += t.name().length() + t.arguments().length();
        }
        checkPromptLength(chars, "messages");
        String why = dev.jseek.tokenizer.ChatTemplate.unsupported(model.tokenizer());
        if (why != null) throw ApiError.invalid("messages", why);
        for (var e : templateKwargs.entrySet()) {
            String no = dev.jseek.tokenizer.ChatTemplate.refusedVariable(model.tokenizer(), e.getKey(), e.getValue());
            if (no != null) throw ApiError.invalid("chat_template_kwargs." + e.getKey(), "chat_template_kwargs." + e.getKey() + ": " + no);
        }
        try {
            return model.chatPrompt(messages, templateKwargs);
        } catch (IllegalArgumentException e) { // the template refuses the conversation (e.g. a Jinja template's raise_exception)
            throw ApiError.invalid("messages", e.getMessage());
        }
    }

    /** The prompt ids of a completion prompt (see {@link PromptStart}). */
    public int[] completionPrompt(String text) {
        checkPromptLength(text.length(), "prompt");
        return model.completionPrompt(text);
    }

    /**
     * The fill-in-the-middle prompt of a completion with a {@code suffix} ({@link dev.jseek.tokenizer.Prompts#fim}:
     * the PSM layout of pre-training, after which the model writes the middle); a 400 naming {@code suffix} when the
     * tokenizer has no fill-in-the-middle tokens.
     */
    public int[] fimPrompt(String prefix, String suffix) {
        checkPromptLength((long) prefix.length() + suffix.length(), "prompt");
        if (!dev.jseek.tokenizer.Prompts.hasFim(model.tokenizer()))
            throw ApiError.invalid("suffix", "suffix: the model's tokenizer has no fill-in-the-middle tokens (<｜fim▁begin｜>, "
                    + "<｜fim▁hole｜>, <｜fim▁end｜>), so it cannot fill the text between a prompt and a suffix");
        return dev.jseek.tokenizer.Prompts.fim(model.tokenizer(), prefix, suffix);
    }

    /**
     * Refuses (400) a prompt text that cannot fit the context whatever it tokenizes to, before tokenizing it: no
     * token is longer than the longest in the vocabulary, so {@code chars} chars are at least
     * chars / longest tokens.
     */
    void checkPromptLength(long chars, String promptParam) {
        int ctx = contextLength();
        long atLeast = (chars + maxTokenBytes - 1) / maxTokenBytes;
        if (atLeast >= ctx)
            throw ApiError.invalid(promptParam, "the prompt is " + chars + " characters, at least " + atLeast
                    + " tokens (no token is longer than " + maxTokenBytes + " bytes); the model's context is " + ctx
                    + " tokens (max_position_embeddings)");
    }

    /** Latent cache bytes one position takes in the engine's pool (every layer, the MTP one with speculative decoding). */
    public long cacheBytesPerToken() { return model.engine().budget().bytesPerToken(); }

    /**
     * Refuses (400) a request that can never be admitted: its prompt plus max_tokens (clamped to the context) needs
     * more latent cache than one request may reserve, the smaller of the pool and the per-request limit (the engine's
     * {@link dev.jseek.infer.CacheBudget}, which also decides admission). The error names the prompt
     * ({@code promptParam}) when even the prompt does not fit, else max_tokens with the largest that fits.
     */
    public void checkCacheBudget(int promptTokens, int maxTokens, String promptParam) {
        try {
            model.engine().budget().check(promptTokens, maxTokens);
        } catch (BatchEngine.CacheTooSmallException e) {
            throw ApiError.invalid(e.param().equals("prompt") ? promptParam : e.param(), e.getMessage());
        }
    }

    /** Generation requests waiting for a batch slot or cache blocks. */
    public int waiting() { return stats().queued(); }

    /** Whether every batch slot is taken (new requests would wait). */
    public boolean busy() { return stats().active() >= model.engine().options().maxBatch(); }

    /**
     * Refuses work (503, and from then on every request) once a file the weights are mapped from changed on disk:
     * reading its lost pages would crash the JVM.
     */
    void checkModelFiles() {
        if (failure == null) {
            try {
                weights.checkUnchanged();
                return;
            } catch (dev.jseek.io.FileChangedException e) {
                failure = e.getMessage();
            }
        }
        throw new ApiError(503, "server_error", null, failure);
    }

    /** Why this runner refuses all work (its model files changed), or null while it serves. */
    public String failure() { return failure; }

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
        return run(prompt, promptParam, p, sink, Cancellation.NEVER, 0);
    }

    /** As {@link #run(int[], String, SamplingParams, TextSink)}, ending when {@code cancel} says so. */
    public Outcome run(int[] prompt, String promptParam, SamplingParams p, TextSink sink, Cancellation cancel)
            throws InterruptedException {
        return run(prompt, promptParam, p, sink, cancel, 0);
    }

    /**
     * As {@link #run(int[], String, SamplingParams, TextSink)}, polling {@code cancel} while it waits for a batch slot
     * (every 100 ms) and after every token (a cancelled request leaves the queue, or stops within a token, and reports
     * {@code clientGone}), and with a deadline ({@link System#nanoTime()}, 0 = none).
     */
    public Outcome run(int[] prompt, String promptParam, SamplingParams p, TextSink sink, Cancellation cancel, long deadlineNanos)
            throws InterruptedException {
        checkPrompt(prompt, promptParam);
        if (closing) throw new ApiError(503, "server_error", null, "the server is shutting down");
        checkModelFiles();
        int maxBiased = p.adjust().bias().maxId();
        if (maxBiased >= vocabSize)
            throw ApiError.invalid("logit_bias", "logit_bias names token " + maxBiased + ", outside the vocabulary 0.." + (vocabSize - 1));
        Sampling s = new Sampling(p.maxTokens(), p.temperature(), p.topP(), p.topK(), p.seed(), p.stop(), p.topLogprobs(), p.ignoreEos(),
                p.adjust());
        Completion c;
        try {
            c = model.generate(prompt, s, sink == null ? null : sink::accept, deadlineNanos,
                    cancel == null || cancel == Cancellation.NEVER ? null : cancel::cancelled);
        } catch (BatchEngine.QueueFullException e) {
            throw new ApiError(429, "rate_limit_error", null, "the server is busy: " + e.getMessage()).retryAfter(1);
        } catch (BatchEngine.CacheTooSmallException e) {
            throw ApiError.invalid(e.param().equals("prompt") ? promptParam : e.param(), e.getMessage());
        } catch (dev.jseek.io.FileChangedException e) {
            failure = e.getMessage();
            throw new ApiError(503, "server_error", null, failure);
        } catch (IllegalStateException e) {
            throw new ApiError(503, "server_error", null, "the server is shutting down");
        }
        return new Outcome(c.text(), c.promptTokens(), c.completionTokens(), c.finishReason(), c.clientGone(), c, null, null);
    }

    /** Refuses new generations, ends the running ones at their next token, then closes the model. */
    @Override public void close() {
        closing = true;
        model.close();
    }
}
