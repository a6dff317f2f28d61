package dev.jseek.serve;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntFunction;

/**
 * The choices of one request: OpenAI's {@code n} per prompt, and with an array of completion prompts n per prompt
 * (prompt i's choice c at index i n + c). Choice c of a prompt runs with seed + c, each choice its own sequence in the
 * batch engine, all at once; choice 0 on the request's thread (the only one that polls the request's
 * {@link Cancellation}, which may write heartbeats), the others on virtual threads. If one fails or the client goes
 * away, the others are cancelled and a failure is rethrown.
 */
final class Choices {
    private Choices() {}

    static ModelRunner.Outcome[] run(ModelRunner runner, int[][] prompts, String promptParam, SamplingParams p,
                                     IntFunction<ModelRunner.TextSink> sinks, Cancellation cancel, long deadlineNanos)
            throws InterruptedException {
        int n = p.n(), total = prompts.length * n;
        ModelRunner.Outcome[] out = new ModelRunner.Outcome[total];
        if (total == 1) {
            out[0] = runner.run(prompts[0], promptParam, p.choice(0), sinks.apply(0), cancel, deadlineNanos);
            return out;
        }
        java.util.concurrent.atomic.AtomicBoolean failed = new java.util.concurrent.atomic.AtomicBoolean();
        try (ExecutorService vt = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<ModelRunner.Outcome>> fs = new ArrayList<>();
            for (int i = 1; i < total; i++) {
                int c = i;
                ModelRunner.TextSink s = sinks.apply(c);
                fs.add(vt.submit(() -> runner.run(prompts[c / n], promptParam, p.choice(c % n),
                        d -> !failed.get() && (s == null || s.accept(d)), failed::get, deadlineNanos)));
            }
            try {
                ModelRunner.TextSink s0 = sinks.apply(0);
                out[0] = runner.run(prompts[0], promptParam, p.choice(0), d -> !failed.get() && (s0 == null || s0.accept(d)), cancel, deadlineNanos);
                if (out[0].clientGone()) failed.set(true); // the other choices stop too
                for (int i = 1; i < total; i++) out[i] = fs.get(i - 1).get();
            } catch (ExecutionException e) {
                failed.set(true);
                if (e.getCause() instanceof RuntimeException re) throw re;
                throw new IllegalStateException(e.getCause());
            } catch (RuntimeException | InterruptedException e) {
                failed.set(true);
                for (Future<?> f : fs) f.cancel(true);
                throw e;
            }
        }
        return out;
    }
}
