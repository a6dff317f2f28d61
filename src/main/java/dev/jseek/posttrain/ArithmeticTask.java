package dev.jseek.posttrain;

import dev.jseek.tokenizer.Message;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * A synthetic task with verifiable answers for rule-based rewards (docs/architecture.md §7.6): "What is 17+25?" with reference answer
 * "42". Operands are uniform in [0, max], the operator uniform over {@code ops} (any of + - *; subtraction keeps the
 * result >= 0 by ordering the operands). Prompt i is a pure function of (seed, i). {@link #chat} gives the same
 * question with its answer as an SFT conversation. Spec string: {@code arithmetic[:MAX[:OPS]]}, default
 * {@code arithmetic:20:+}.
 */
public final class ArithmeticTask implements PromptSet {
    private final int max;
    private final String ops;
    private final long seed;

    public ArithmeticTask(int max, String ops, long seed) {
        if (max < 1 || max > 1_000_000) throw new IllegalArgumentException("arithmetic operand maximum must be in [1, 1000000], got " + max);
        if (ops.isEmpty() || !ops.chars().allMatch(ch -> ch == '+' || ch == '-' || ch == '*') || ops.chars().distinct().count() != ops.length())
            throw new IllegalArgumentException("arithmetic operators must be distinct characters of '+-*', got '" + ops + "'");
        this.max = max;
        this.ops = ops;
        this.seed = seed;
    }

    /** Parses {@code arithmetic[:MAX[:OPS]]}. */
    public static ArithmeticTask parse(String spec, long seed) {
        String[] p = spec.split(":", -1);
        if (!p[0].equals("arithmetic") || p.length > 3)
            throw new IllegalArgumentException("task '" + spec + "': expected arithmetic[:MAX[:OPS]], e.g. arithmetic:20:+-");
        int max = 20;
        if (p.length > 1) {
            try {
                max = Integer.parseInt(p[1]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("task '" + spec + "': MAX '" + p[1] + "' is not an integer");
            }
        }
        return new ArithmeticTask(max, p.length > 2 ? p[2] : "+", seed);
    }

    /** Operands and operator of prompt i. */
    record Problem(long a, long b, char op) {
        long result() { return switch (op) { case '+' -> a + b; case '-' -> a - b; default -> a * b; }; }
        String question() { return "What is " + a + op + b + "?"; }
    }

    Problem problem(long index) {
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L ^ (index + 1) * 0xC2B2AE3D27D4EB4FL);
        long a = r.nextInt(max + 1), b = r.nextInt(max + 1);
        char op = ops.charAt(r.nextInt(ops.length()));
        if (op == '-' && b > a) { long t = a; a = b; b = t; }
        return new Problem(a, b, op);
    }

    @Override public RlPrompt get(long index) {
        Problem p = problem(index);
        return new RlPrompt(List.of(Message.user(p.question())), Long.toString(p.result()));
    }

    /** Prompt i with its answer as an SFT conversation. */
    public List<Message> chat(long index) {
        Problem p = problem(index);
        return List.of(Message.user(p.question()), Message.assistant(Long.toString(p.result())));
    }

    @Override public boolean hasAnswers() { return true; }

    @Override public String describe() { return String.format(Locale.ROOT, "arithmetic (a%sb, operands 0..%d, seed %d)", ops.length() == 1 ? ops : "[" + ops + "]", max, seed); }
}
