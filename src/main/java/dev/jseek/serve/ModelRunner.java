package dev.jseek.serve;

import dev.jseek.infer.Generator;
import dev.jseek.infer.Sampler;
import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.tokenizer.ChatTemplate;
import dev.jseek.tokenizer.Message;
import dev.jseek.tokenizer.StreamingDecoder;
import dev.jseek.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The served model: turns a prompt and {@link SamplingParams} into text, one request at a time. Requests queue in
 * arrival order on a fair semaphore (the model's workspace serves one forward at a time); each generation has its
 * own KV cache ({@link Generator}: prefill, then cached absorbed decode, docs/architecture.md §3.3). Generated ids become text with a
 * {@link StreamingDecoder} (whole characters only, special tokens skipped) and then a {@link StopMatcher}; each
 * released piece goes to a {@link TextSink} as soon as it is known. Stops at EOS, a stop string, max_tokens, or the
 * context length: max_tokens is clamped so that prompt + completion fit {@code max_position_embeddings}.
 */
public final class ModelRunner implements AutoCloseable {
    /** Receives the completion text piece by piece; returns false when nobody listens any more (generation stops). */
    @FunctionalInterface
    public interface TextSink {
        boolean accept(String delta);
    }

    /**
     * What one request produced. {@code completionTokens} counts every generated id (EOS included);
     * {@code finishReason} is "stop" (EOS or a stop string) or "length" (max_tokens or the context).
     */
    public record Outcome(String text, int promptTokens, int completionTokens, String finishReason, boolean clientGone) {}

    private final DeepSeekV3 model;
    private final Tokenizer tokenizer;
    private final Generator generator;
    private final PromptStart promptStart;
    private final int[] stopIds;
    private final long cacheBytesPerToken;
    /** The longest token in UTF-8 bytes: a text of n chars is at least n / this many tokens. */
    private final int maxTokenBytes;
    /** How often a request waiting for its turn polls its {@link Cancellation}. */
    static final long POLL_MS = 100;

    private final Semaphore turn = new Semaphore(1, true);
    private final java.util.concurrent.atomic.AtomicInteger waiting = new java.util.concurrent.atomic.AtomicInteger();
    private volatile boolean closing;
    /** Set once the model's files changed on disk: every later request is refused with it. */
    private volatile String failure;

    /** Takes ownership of {@code model} (closed by {@link #close}). */
    public ModelRunner(DeepSeekV3 model, Tokenizer tokenizer, AttnMode mode, PromptStart promptStart) {
        if (tokenizer.vocabSize() > model.config.vocabSize())
            throw new IllegalArgumentException("the tokenizer " + tokenizer.source() + " has " + tokenizer.vocabSize()
                    + " ids but the model's vocab_size is " + model.config.vocabSize() + "; is it the model's tokenizer?");
        this.model = model;
        this.tokenizer = tokenizer;
        this.generator = new Generator(model, mode);
        int longest = 1;
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            byte[] b = tokenizer.tokenBytes(id);
            if (b != null) longest = Math.max(longest, b.length);
        }
        this.maxTokenBytes = longest;
        var c = model.config;
        this.cacheBytesPerToken = 4L * c.numHiddenLayers() * (mode == AttnMode.ABSORB ? c.kvLoraRank() + c.qkRopeHeadDim()
                : (long) c.numAttentionHeads() * (c.qkHeadDim() + c.vHeadDim()));
        this.promptStart = promptStart;
        int eos = model.config.eosTokenId(), teos = tokenizer.eosId();
        this.stopIds = teos >= 0 && teos != eos ? new int[] {eos, teos} : new int[] {eos};
    }

    public Tokenizer tokenizer() { return tokenizer; }

    /** max_position_embeddings: prompt + completion tokens at most. */
    public int contextLength() { return model.config.maxPositionEmbeddings(); }

    /** The prompt ids of a conversation: DeepSeek-V3's chat template with the assistant prompt at the end. */
    public int[] chatPrompt(List<Message> messages) {
        long chars = 0;
        for (Message m : messages) chars += m.content().length();
        checkPromptLength(chars, "messages");
        return ChatTemplate.encode(tokenizer, messages, true);
    }

    /** The prompt ids of a completion prompt (see {@link PromptStart}). */
    public int[] completionPrompt(String text) {
        checkPromptLength(text.length(), "prompt");
        return promptStart.encode(tokenizer, text);
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

    /**
     * Refuses (400, naming {@code promptParam}) a prompt that is empty, has ids outside the model's vocabulary, or
     * leaves no room in the context for one token.
     */
    public void checkPrompt(int[] prompt, String promptParam) {
        int vocab = model.config.vocabSize(), ctx = contextLength();
        for (int i = 0; i < prompt.length; i++)
            if (prompt[i] < 0 || prompt[i] >= vocab)
                throw ApiError.invalid(promptParam, "prompt token " + i + " is " + prompt[i] + ", outside the model's vocabulary 0.." + (vocab - 1));
        if (prompt.length == 0) throw ApiError.invalid(promptParam, "the prompt is empty");
        if (prompt.length >= ctx)
            throw ApiError.invalid(promptParam, "the prompt is " + prompt.length + " tokens; the model's context is " + ctx
                    + " tokens (max_position_embeddings), which leaves no room for a completion");
    }

    /** KV-cache bytes one position takes (float32, every layer). */
    public long cacheBytesPerToken() { return cacheBytesPerToken; }

    /**
     * Refuses (400, naming max_tokens and the numbers) a request whose KV cache could grow beyond {@code maxBytes}:
     * prompt + max_tokens positions (clamped to the context) at {@link #cacheBytesPerToken}.
     */
    public void checkCacheBudget(int promptTokens, int maxTokens, long maxBytes) {
        long positions = Math.min(contextLength(), (long) promptTokens + maxTokens);
        long need = positions * cacheBytesPerToken;
        if (need <= maxBytes) return;
        long fit = maxBytes / cacheBytesPerToken - promptTokens;
        throw ApiError.invalid("max_tokens", "this request could need " + mib(need) + " of KV cache (" + promptTokens
                + " prompt + " + (positions - promptTokens) + " completion tokens x " + cacheBytesPerToken
                + " bytes); the server allows " + mib(maxBytes) + " per request: "
                + (fit >= 1 ? "ask for max_tokens <= " + fit : "shorten the prompt"));
    }

    private static String mib(long b) { return String.format("%.1f MiB", b / 1048576.0); }

    /**
     * Generates a completion of {@code prompt}, streaming text to {@code sink} (may be null). {@code promptParam}
     * names the request field of the prompt in errors (messages or prompt). Waits for its turn.
     */
    public Outcome run(int[] prompt, String promptParam, SamplingParams p, TextSink sink) throws InterruptedException {
        return run(prompt, promptParam, p, sink, Cancellation.NEVER);
    }

    /** Generation requests waiting for their turn. */
    public int waiting() { return waiting.get(); }

    /** Whether a generation holds the turn now. */
    public boolean busy() { return turn.availablePermits() == 0; }

    /**
     * As {@link #run(int[], String, SamplingParams, TextSink)}, polling {@code cancel} while it waits for its turn
     * (every {@link #POLL_MS} ms) and after every token: a cancelled request leaves the queue, or stops within a
     * token, and reports {@code clientGone}.
     */
    public Outcome run(int[] prompt, String promptParam, SamplingParams p, TextSink sink, Cancellation cancel)
            throws InterruptedException {
        checkPrompt(prompt, promptParam);
        int ctx = contextLength();
        int maxNew = Math.min(p.maxTokens(), ctx - prompt.length);
        Sampler sampler = new Sampler(p.temperature(), p.topK(), p.topP(), p.seed());
        StreamingDecoder dec = tokenizer.streamingDecoder(true);
        StopMatcher stop = new StopMatcher(p.stop());
        StringBuilder text = new StringBuilder();
        boolean[] gone = {false};
        TextSink out = d -> {
            if (d.isEmpty()) return true;
            text.append(d);
            if (sink != null && !gone[0] && !sink.accept(d)) gone[0] = true;
            return !gone[0];
        };
        Generator.Result r;
        waiting.incrementAndGet();
        try {
            while (!turn.tryAcquire(POLL_MS, TimeUnit.MILLISECONDS))
                if (cancel.cancelled()) return new Outcome("", prompt.length, 0, "stop", true);
        } finally {
            waiting.decrementAndGet();
        }
        try {
            if (closing) throw new ApiError(503, "server_error", null, "the server is shutting down");
            checkModelFiles();
            if (cancel.cancelled()) return new Outcome("", prompt.length, 0, "stop", true);
            r = generator.generateWhile(prompt, maxNew, sampler, stopIds, id -> {
                boolean more = out.accept(stop.push(dec.next(id))) && !stop.stopped() && !closing;
                if (more && cancel.cancelled()) gone[0] = true;
                return more && !gone[0];
            });
        } finally {
            turn.release();
        }
        if (!stop.stopped()) {
            out.accept(stop.push(dec.flush()));
            out.accept(stop.finish());
        }
        boolean eos = r.tokens().length > 0 && contains(stopIds, r.tokens()[r.tokens().length - 1]);
        String finish = stop.stopped() || eos ? "stop" : "length";
        return new Outcome(text.toString(), prompt.length, r.tokens().length, finish, gone[0]);
    }

    /**
     * Refuses work (503, and from then on every request) once a file the weights are mapped from changed on disk:
     * reading its lost pages would crash the JVM.
     */
    void checkModelFiles() {
        if (failure == null) {
            try {
                model.checkUnchanged();
                return;
            } catch (dev.jseek.io.FileChangedException e) {
                failure = e.getMessage();
            }
        }
        throw new ApiError(503, "server_error", null, failure);
    }

    /** Why this runner refuses all work (its model files changed), or null while it serves. */
    public String failure() { return failure; }

    private static boolean contains(int[] a, int v) {
        return Arrays.stream(a).anyMatch(x -> x == v);
    }

    /** Refuses new generations, lets the running one end at its next token, then closes the model. */
    @Override public void close() {
        closing = true;
        turn.acquireUninterruptibly();
        model.close();
    }
}
