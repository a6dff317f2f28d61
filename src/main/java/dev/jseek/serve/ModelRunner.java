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
    private final Semaphore turn = new Semaphore(1, true);
    private volatile boolean closing;

    /** Takes ownership of {@code model} (closed by {@link #close}). */
    public ModelRunner(DeepSeekV3 model, Tokenizer tokenizer, AttnMode mode, PromptStart promptStart) {
        if (tokenizer.vocabSize() > model.config.vocabSize())
            throw new IllegalArgumentException("the tokenizer " + tokenizer.source() + " has " + tokenizer.vocabSize()
                    + " ids but the model's vocab_size is " + model.config.vocabSize() + "; is it the model's tokenizer?");
        this.model = model;
        this.tokenizer = tokenizer;
        this.generator = new Generator(model, mode);
        this.promptStart = promptStart;
        int eos = model.config.eosTokenId(), teos = tokenizer.eosId();
        this.stopIds = teos >= 0 && teos != eos ? new int[] {eos, teos} : new int[] {eos};
    }

    public Tokenizer tokenizer() { return tokenizer; }

    /** max_position_embeddings: prompt + completion tokens at most. */
    public int contextLength() { return model.config.maxPositionEmbeddings(); }

    /** The prompt ids of a conversation: DeepSeek-V3's chat template with the assistant prompt at the end. */
    public int[] chatPrompt(List<Message> messages) { return ChatTemplate.encode(tokenizer, messages, true); }

    /** The prompt ids of a completion prompt (see {@link PromptStart}). */
    public int[] completionPrompt(String text) { return promptStart.encode(tokenizer, text); }

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

    /**
     * Generates a completion of {@code prompt}, streaming text to {@code sink} (may be null). {@code promptParam}
     * names the request field of the prompt in errors (messages or prompt). Waits for its turn.
     */
    public Outcome run(int[] prompt, String promptParam, SamplingParams p, TextSink sink) throws InterruptedException {
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
        turn.acquire();
        try {
            if (closing) throw new ApiError(503, "server_error", null, "the server is shutting down");
            r = generator.generateWhile(prompt, maxNew, sampler, stopIds,
                    id -> out.accept(stop.push(dec.next(id))) && !stop.stopped() && !closing);
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
