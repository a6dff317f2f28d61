package dev.jseek.serve;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadFactory;

/**
 * The executor of {@link OpenAiServer}'s exchanges, and their deadlines. The JDK's {@code HttpServer} reads a
 * request's headers on the executor's thread, with no timeout of its own; so each exchange runs on its own virtual
 * thread (a stalled client holds only that), and a watchdog interrupts a thread whose armed deadline has passed:
 * interrupting a thread blocked on a socket channel closes the channel, so the read or write fails at once and the
 * connection is dropped. A deadline is armed from the exchange's start until its body is read
 * ({@link ServerLimits#readTimeoutMs}) and around each write of the answer ({@link ServerLimits#writeTimeoutMs});
 * never while the model works, so an interrupt never lands in a generation.
 */
final class ConnectionGuard implements Executor, AutoCloseable {
    /** How often the watchdog looks at the deadlines. */
    static final long TICK_MS = 50;

    private static final ThreadLocal<Slot> CURRENT = new ThreadLocal<>();

    /** One exchange in progress: its thread and its armed deadline (0 = none). */
    static final class Slot {
        private final Thread thread;
        private final ConnectionGuard guard;
        private long deadline;
        private boolean fired;

        Slot(Thread thread, ConnectionGuard guard) {
            this.thread = thread;
            this.guard = guard;
        }

        ConnectionGuard guard() { return guard; }

        synchronized void arm(long ms) {
            deadline = System.nanoTime() + ms * 1_000_000L;
            if (deadline == 0) deadline = 1;
        }

        /** Clears the deadline; true when it had passed (the thread was interrupted; the flag is cleared here). */
        synchronized boolean disarm() {
            deadline = 0;
            if (!fired) return false;
            fired = false;
            Thread.interrupted();
            return true;
        }

        synchronized void check(long now) {
            if (deadline != 0 && now - deadline >= 0 && !fired) {
                fired = true;
                thread.interrupt();
            }
        }
    }

    private final Set<Slot> active = ConcurrentHashMap.newKeySet();
    private final ServerLimits limits;
    private final ThreadFactory threads = Thread.ofVirtual().name("jseek-serve-", 1).factory();
    private final Thread watchdog;
    private volatile boolean closed;

    ConnectionGuard(ServerLimits limits) {
        this.limits = limits;
        this.watchdog = Thread.ofPlatform().daemon().name("jseek-serve-watchdog").unstarted(this::watch);
        watchdog.start();
    }

    /** The slot of the exchange running on this thread, or null outside one (a handler under a plain HttpServer). */
    static Slot current() { return CURRENT.get(); }

    /** Exchanges in progress (being read, waiting, generating or writing). */
    int inFlight() { return active.size(); }

    ServerLimits limits() { return limits; }

    @Override public void execute(Runnable exchange) {
        Thread t = threads.newThread(() -> {
            Slot s = new Slot(Thread.currentThread(), this);
            s.arm(limits.readTimeoutMs());
            CURRENT.set(s);
            active.add(s);
            try {
                exchange.run();
            } finally {
                active.remove(s);
                CURRENT.remove();
            }
        });
        t.start();
    }

    private void watch() {
        while (!closed) {
            long now = System.nanoTime();
            for (Slot s : active) s.check(now);
            try {
                Thread.sleep(TICK_MS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    @Override public void close() {
        closed = true;
        watchdog.interrupt();
    }
}
