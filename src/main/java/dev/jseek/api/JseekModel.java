package dev.jseek.api;

import dev.jseek.infer.BatchEngine;
import dev.jseek.infer.EngineOptions;
import dev.jseek.infer.Generation;
import dev.jseek.infer.GenerationRequest;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.source.ModelSource;
import dev.jseek.tokenizer.ChatTemplate;
import dev.jseek.tokenizer.Message;
import dev.jseek.tokenizer.Prompts;
import dev.jseek.tokenizer.StreamingDecoder;
import dev.jseek.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * jseek in a Java application, without HTTP: a model and its tokenizer behind a continuous-batching
 * {@link BatchEngine}, so calls from many threads are decoded together. The OpenAI-compatible server
 * ({@code dev.jseek.serve}) is built on this class.
 *
 * <pre>{@code
 * try (JseekModel m = JseekModel.load(Path.of("runs/qs/run/step-400"))) {     // a model directory or a .gguf
 *     String code = m.complete("public static int max(", Sampling.greedy(40)).text();
 *     String answer = m.chat(List.of(Message.user("Hello!")), Sampling.of(64, 0.6f)).text();
 *     m.stream(List.of(Message.user("Tell me more")), Sampling.of(64, 0.6f), System.out::print);
 * }
 * }</pre>
 *
 * Text comes out as whole characters (a {@link StreamingDecoder}, special tokens skipped) and is cut at the first
 * stop string ({@link StopMatcher}). Thread-safe.
 */
public final class JseekModel implements AutoCloseable {
    private final DeepSeekV3 model;
    private final Tokenizer tokenizer;
    private final BatchEngine engine;
    private final PromptStart promptStart;
    private final int[] stopIds;

    /** Takes ownership of {@code model} (closed by {@link #close}). */
    public JseekModel(DeepSeekV3 model, Tokenizer tokenizer, EngineOptions options, PromptStart promptStart) {
        if (tokenizer.vocabSize() > model.config.vocabSize())
            throw new IllegalArgumentException("the tokenizer " + tokenizer.source() + " has " + tokenizer.vocabSize()
                    + " ids but the model's vocab_size is " + model.config.vocabSize() + "; is it the model's tokenizer?");
        this.model = model;
        this.tokenizer = tokenizer;
        this.promptStart = promptStart;
        int eos = model.config.eosTokenId();
        // the model's EOS and the tokenizer's end-of-generation ids (its EOS; Kimi-K2's end of turn <|im_end|>, ...)
        this.stopIds = java.util.stream.IntStream.concat(java.util.stream.IntStream.of(eos),
                java.util.Arrays.stream(tokenizer.endOfGenerationIds())).distinct().toArray();
        this.engine = new BatchEngine(model, options);
    }

    /**
     * Opens a model directory (config.json + safetensors) or a deepseek2 .gguf, with the tokenizer the .gguf carries
     * in its metadata or else the tokenizer.json found in the model's directory or its parent, default engine options
     * and {@link PromptStart#AUTO}.
     */
    public static JseekModel load(Path model) {
        Tokenizer embedded = ModelSource.embeddedTokenizer(model);
        if (embedded == null) return load(model, findTokenizer(model), EngineOptions.defaults());
        return load(model, embedded, EngineOptions.defaults());
    }

    /** Opens {@code model} with {@code tokenizer} and engine options. */
    public static JseekModel load(Path model, Tokenizer tokenizer, EngineOptions options) {
        DeepSeekV3 m = ModelSource.open(model);
        try {
            return new JseekModel(m, tokenizer, options, PromptStart.AUTO);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /** Opens {@code model} with the given tokenizer file and engine options. */
    public static JseekModel load(Path model, Path tokenizerJson, EngineOptions options) {
        Tokenizer t;
        try {
            t = Tokenizer.load(tokenizerJson);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the tokenizer " + tokenizerJson + ": " + e.getMessage(), e);
        }
        return load(model, t, options);
    }

    /** tokenizer.json next to the model (in its directory, or the directory above a checkpoint or a .gguf). */
    public static Path findTokenizer(Path model) {
        Path dir = model.toAbsolutePath();
        for (Path p : new Path[] {dir, dir.getParent()}) {
            if (p == null) continue;
            Path f = p.resolve("tokenizer.json");
            if (Files.isRegularFile(f)) return f;
        }
        throw new IllegalArgumentException("no tokenizer.json in " + model + " or its parent; give its path");
    }

    public Tokenizer tokenizer() { return tokenizer; }

    public BatchEngine engine() { return engine; }

    /** max_position_embeddings: prompt + completion tokens at most. */
    public int contextLength() { return model.config.maxPositionEmbeddings(); }

    /** The ids that end a generation (EOS of the model, the tokenizer's {@code endOfGenerationIds}). */
    public int[] stopIds() { return stopIds.clone(); }

    /**
     * The prompt ids of a conversation: DeepSeek-V3's chat template with the assistant prompt at the end
     * (IllegalArgumentException when the tokenizer brings another template, see {@link ChatTemplate#unsupported}).
     */
    public int[] chatPrompt(List<Message> messages) { return ChatTemplate.encode(tokenizer, messages, true); }

    /**
     * As {@link #chatPrompt(List)} with the template's thinking switch (DeepSeek-V3.1's {@code thinking}: the answer
     * opens {@code <think>}); IllegalArgumentException when {@code thinking} is asked of a template without the switch.
     */
    public int[] chatPrompt(List<Message> messages, boolean thinking) {
        String why = thinking ? ChatTemplate.noThinkingSwitch(tokenizer) : null;
        if (why != null) throw new IllegalArgumentException(why);
        return ChatTemplate.encode(tokenizer, messages, true, thinking);
    }

    /**
     * As {@link #chatPrompt(List)} with a chat template's variables (OpenAI-style {@code chat_template_kwargs}; values
     * Map, List, String, Boolean, Long, Double or null): a template rendered by jseek's Jinja engine gets them all,
     * jseek's renderers of the DeepSeek family read only {@code thinking}
     * ({@link ChatTemplate#render(Tokenizer, List, boolean, Map)}); IllegalArgumentException naming a variable the
     * template cannot take.
     */
    public int[] chatPrompt(List<Message> messages, java.util.Map<String, Object> templateVariables) {
        return ChatTemplate.encode(tokenizer, messages, true, templateVariables);
    }

    /** The prompt ids of a completion prompt (see {@link PromptStart}). */
    public int[] completionPrompt(String text) { return promptStart.encode(tokenizer, text); }

    /** The assistant's answer to a conversation. */
    public Completion chat(List<Message> messages, Sampling s) throws InterruptedException {
        return generate(chatPrompt(messages), s, null, 0);
    }

    /** Continues {@code prompt}. */
    public Completion complete(String prompt, Sampling s) throws InterruptedException {
        return generate(completionPrompt(prompt), s, null, 0);
    }

    /**
     * The text between {@code prefix} and {@code suffix} (fill in the middle: the PSM prompt of pre-training,
     * {@link Prompts#fim}); IllegalArgumentException when the tokenizer has no fill-in-the-middle tokens.
     */
    public Completion fill(String prefix, String suffix, Sampling s) throws InterruptedException {
        return generate(Prompts.fim(tokenizer, prefix, suffix), s, null, 0);
    }

    /** The assistant's answer, its text streamed to {@code onText} as it is generated. */
    public Completion stream(List<Message> messages, Sampling s, Consumer<String> onText) throws InterruptedException {
        return stream(messages, s, false, onText);
    }

    /**
     * As {@link #stream(List, Sampling, Consumer)} with the template's thinking switch (see
     * {@link #chatPrompt(List, boolean)}): the text then starts with the reasoning and its {@code </think>}.
     */
    public Completion stream(List<Message> messages, Sampling s, boolean thinking, Consumer<String> onText) throws InterruptedException {
        return streamPrompt(chatPrompt(messages, thinking), s, onText);
    }

    /**
     * As {@link #stream(List, Sampling, Consumer)} with a chat template's variables (see
     * {@link #chatPrompt(List, java.util.Map)}).
     */
    public Completion stream(List<Message> messages, Sampling s, java.util.Map<String, Object> templateVariables, Consumer<String> onText)
            throws InterruptedException {
        return streamPrompt(chatPrompt(messages, templateVariables), s, onText);
    }

    private Completion streamPrompt(int[] prompt, Sampling s, Consumer<String> onText) throws InterruptedException {
        return generate(prompt, s, d -> {
            onText.accept(d);
            return true;
        }, 0);
    }

    /**
     * Generates a completion of prompt ids, streaming text to {@code sink} (may be null; returning false stops the
     * generation). {@code deadlineNanos} ({@link System#nanoTime()}, 0 = none) ends it early ("length"). If the
     * calling thread is interrupted the generation is cancelled and InterruptedException thrown. Throws
     * {@link BatchEngine.QueueFullException} when the engine's queue is full,
     * {@link BatchEngine.CacheTooSmallException} for a request whose prompt plus maximum of new tokens can never fit
     * the latent cache ({@link dev.jseek.infer.CacheBudget}), IllegalArgumentException for a prompt that cannot be
     * run, and IllegalStateException when the model is closing.
     */
    public Completion generate(int[] prompt, Sampling s, TextSink sink, long deadlineNanos) throws InterruptedException {
        return generate(prompt, s, sink, deadlineNanos, null);
    }

    /** How often a generation polls its cancellation hook while no token arrives (waiting in the queue, a long prefill). */
    static final long POLL_MS = 100;

    /**
     * As {@link #generate(int[], Sampling, TextSink, long)}, polling {@code cancelled} (may be null) every
     * {@link #POLL_MS} ms while waiting and after every token: once it says true the generation is cancelled (it
     * leaves the queue, or stops at the next token) and the completion reports {@code clientGone}.
     */
    public Completion generate(int[] prompt, Sampling s, TextSink sink, long deadlineNanos, BooleanSupplier cancelled)
            throws InterruptedException {
        int maxNew = (int) Math.max(1, Math.min(s.maxTokens(), (long) contextLength() - prompt.length));
        GenerationRequest req = new GenerationRequest(prompt, maxNew, s.temperature(), s.topK(), s.topP(), s.seed(),
                s.ignoreEos() ? new int[0] : stopIds, s.topLogprobs(), deadlineNanos, s.adjust());
        long t0 = System.nanoTime();
        Generation g = engine.submit(req);
        long[] times = new long[16];
        StreamingDecoder dec = tokenizer.streamingDecoder(true);
        StopMatcher stop = new StopMatcher(s.stop());
        StringBuilder text = new StringBuilder();
        List<Completion.TokenInfo> toks = new ArrayList<>();
        boolean gone = false, ended = false;
        Generation.End end;
        try {
            while (true) {
                Generation.Event ev = cancelled == null ? g.take() : g.poll(POLL_MS, TimeUnit.MILLISECONDS);
                if (ev == null || (cancelled != null && !gone && cancelled.getAsBoolean())) {
                    if (cancelled != null && !gone && cancelled.getAsBoolean()) {
                        gone = true;
                        g.cancel();
                    }
                    if (ev == null) continue;
                }
                if (ev instanceof Generation.End e) {
                    end = e;
                    ended = true;
                    break;
                }
                if (stop.stopped() || gone) continue; // drained after a cancel
                Generation.Token t = (Generation.Token) ev;
                if (toks.size() == times.length) times = java.util.Arrays.copyOf(times, 2 * times.length);
                times[toks.size()] = System.nanoTime() - t0;
                toks.add(new Completion.TokenInfo(t.id(), t.logprobs()));
                String d = stop.push(dec.next(t.id()));
                if (!d.isEmpty()) {
                    text.append(d);
                    if (sink != null && !sink.accept(d)) gone = true;
                }
                if (stop.stopped() || gone) g.cancel();
            }
        } finally {
            if (!ended) g.cancel();
        }
        if (end.error() != null) throw end.error();
        if (end.reason().equals(Generation.SHUTDOWN)) throw new IllegalStateException("the model is shutting down");
        if (!stop.stopped() && !gone) {
            String d = stop.push(dec.flush()) + stop.finish();
            if (!d.isEmpty()) {
                text.append(d);
                if (sink != null && !sink.accept(d)) gone = true;
            }
        }
        boolean eos = end.reason().equals(Generation.STOP_TOKEN);
        String finish = stop.stopped() || eos ? "stop" : "length";
        return new Completion(text.toString(), prompt.length, toks.size(), finish, end.reason(), toks,
                g.cachedPromptTokens(), gone, java.util.Arrays.copyOf(times, toks.size()));
    }

    /** Stops the engine (running generations end) and closes the model. */
    @Override public void close() {
        engine.close();
        model.close();
    }
}
