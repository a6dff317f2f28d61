package dev.jseek.infer;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A generation submitted to the {@link BatchEngine}: the events it produces, read by the caller's thread (tokens as
 * they are chosen, then one {@link End}), and a {@link #cancel()} that ends it at the next token boundary. The engine
 * never blocks on a slow reader: events queue here.
 */
public final class Generation {
    /** What a generation emits. */
    public sealed interface Event permits Token, End {}

    /** A generated token; {@code logprobs} is null unless the request asked for them. */
    public record Token(int id, Logprobs logprobs) implements Event {}

    /**
     * The end: {@code reason} is one of {@link #STOP_TOKEN}, {@link #MAX_TOKENS}, {@link #CONTEXT}, {@link #CANCELLED},
     * {@link #DEADLINE}, {@link #SHUTDOWN}, {@link #ERROR} (then {@code error} says why).
     */
    public record End(String reason, int tokens, RuntimeException error) implements Event {}

    public static final String STOP_TOKEN = "stop token", MAX_TOKENS = "max tokens", CONTEXT = "context length",
            CANCELLED = "cancelled", DEADLINE = "deadline", SHUTDOWN = "shutdown", ERROR = "error";

    final GenerationRequest request;
    final long submittedNanos = System.nanoTime();
    private final LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private volatile boolean cancelled;
    volatile long firstTokenNanos;
    /** Prompt tokens whose cache came from the prefix cache. */
    volatile int cachedPromptTokens;

    Generation(GenerationRequest request) { this.request = request; }

    public GenerationRequest request() { return request; }

    /** Ends the generation at the next token boundary (its {@link End} says "cancelled"). Idempotent. */
    public void cancel() { cancelled = true; }

    public boolean cancelled() { return cancelled; }

    /** The next event, waiting up to {@code timeout} units; null when none came in that time. */
    public Event poll(long timeout, TimeUnit unit) throws InterruptedException { return events.poll(timeout, unit); }

    /** The next event, waiting as long as it takes (the engine always ends a generation with an {@link End}). */
    public Event take() throws InterruptedException { return events.take(); }

    /** Prompt tokens reused from the prefix cache (known once the first token is out). */
    public int cachedPromptTokens() { return cachedPromptTokens; }

    /** Nanoseconds from submission to the first token, or -1 before it. */
    public long timeToFirstTokenNanos() {
        long f = firstTokenNanos;
        return f == 0 ? -1 : f - submittedNanos;
    }

    void emit(Event e) { events.add(e); }

    /** Events produced and not yet read. */
    int pending() { return events.size(); }
}
