package dev.jseek.serve;

/**
 * The hook by which a generation learns that its client went away: a runner polls it before its turn and after every
 * token, and stops when it says so. Polling may do I/O (a heartbeat byte that shows whether the connection is alive),
 * so call it from the request's own thread.
 */
@FunctionalInterface
public interface Cancellation {
    /** True once nobody waits for the answer any more. */
    boolean cancelled();

    Cancellation NEVER = () -> false;
}
