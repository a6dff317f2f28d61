package dev.jseek.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A piecewise scalar schedule over training progress (docs/architecture.md §7.1): used for the learning rate (linear warmup,
 * constant, cosine decay to a floor, final constant stages), for gamma, the bias update speed (docs/architecture.md §5.3), and for
 * lambda, the MTP loss weight (docs/architecture.md §6.2), which are piecewise constant.
 *
 * <p>A schedule is a start value and a list of stages. Each stage ends at an absolute position {@code end}
 * measured in its own unit, {@link Unit#STEPS} or {@link Unit#TOKENS}, and has a shape:
 * {@link Shape#CONSTANT} (value {@code to} throughout), {@link Shape#LINEAR} or {@link Shape#COSINE} (from the
 * previous stage's final value at the previous stage's end to {@code to} at {@code end}; these need the previous
 * end in the same unit, or start at position 0 when first). {@link #at} evaluates at a progress point
 * (steps, tokens): the first stage whose end is not passed ({@code position <= end}) in its unit gives the value;
 * past the last stage the last value holds.
 *
 * <p>Position convention used by {@link Trainer}: a step is evaluated at its progress AFTER the step (steps =
 * 1-based index of the step, tokens = tokens seen including this step's batch), so "warmup over 2000 steps"
 * gives lr = peak * s / 2000 at step s = 1..2000, and "0.3 for the first 10T tokens" applies to every step whose
 * last token lies within the first 10T tokens.
 *
 * <p>Text form ({@link #parse}), e.g. the report's learning rate:
 * {@code "0; linear 2000s 2.2e-4; constant 10e12t; cosine 14.3e12t 2.2e-5; constant 14.633e12t; constant 14.8e12t 7.3e-6"}:
 * a start value, then stages {@code SHAPE END(s|t) [VALUE]} (VALUE defaults to the previous value).
 */
public final class LrSchedule {
    public enum Unit { STEPS, TOKENS }

    public enum Shape { CONSTANT, LINEAR, COSINE }

    /** One stage: {@code shape} up to {@code end} (inclusive, in {@code unit}), from {@code from} at {@code start} to {@code to}. */
    public record Stage(Shape shape, Unit unit, double start, double end, double from, double to) {}

    private final double initial;
    private final List<Stage> stages;

    private LrSchedule(double initial, List<Stage> stages) {
        this.initial = initial;
        this.stages = List.copyOf(stages);
    }

    /** A schedule that is {@code value} everywhere. */
    public static LrSchedule constant(double value) { return builder(value).build(); }

    /** A builder starting at {@code initialValue} (the value a LINEAR/COSINE first stage starts from). */
    public static Builder builder(double initialValue) { return new Builder(initialValue); }

    public List<Stage> stages() { return stages; }

    /** The value after {@code steps} steps and {@code tokens} tokens of progress (see the position convention). */
    public double at(long steps, long tokens) {
        for (Stage s : stages) {
            double x = s.unit == Unit.STEPS ? steps : tokens;
            if (x <= s.end) {
                return switch (s.shape) {
                    case CONSTANT -> s.to;
                    case LINEAR -> {
                        double f = frac(x, s);
                        yield f >= 1 ? s.to : s.from + (s.to - s.from) * f;
                    }
                    case COSINE -> {
                        double f = frac(x, s);
                        yield f >= 1 ? s.to : s.to + (s.from - s.to) * 0.5 * (1 + Math.cos(Math.PI * f));
                    }
                };
            }
        }
        return stages.isEmpty() ? initial : stages.getLast().to;
    }

    private static double frac(double x, Stage s) {
        double f = (x - s.start) / (s.end - s.start);
        return Math.max(0, Math.min(1, f));
    }

    /** Builds a schedule stage by stage; ends must increase within a unit. */
    public static final class Builder {
        private final double initial;
        private final List<Stage> stages = new ArrayList<>();
        private double value;
        private final double[] lastEnd = {0, 0}; // per unit
        private Unit lastUnit;

        private Builder(double initial) {
            finite("initial value", initial);
            this.initial = initial;
            this.value = initial;
        }

        /** Holds {@code value} until {@code end}. */
        public Builder constant(Unit unit, double end, double value) { return add(Shape.CONSTANT, unit, end, value); }

        /** Holds the current value until {@code end}. */
        public Builder constant(Unit unit, double end) { return add(Shape.CONSTANT, unit, end, value); }

        /** Linear from the current value to {@code to} at {@code end} (warmup when the current value is 0). */
        public Builder linear(Unit unit, double end, double to) { return add(Shape.LINEAR, unit, end, to); }

        /** Half-cosine from the current value to {@code to} at {@code end}. */
        public Builder cosine(Unit unit, double end, double to) { return add(Shape.COSINE, unit, end, to); }

        public Builder add(Shape shape, Unit unit, double end, double to) {
            finite("stage value", to);
            if (!(end > 0) || Double.isInfinite(end)) throw new IllegalArgumentException("stage " + (stages.size() + 1) + " end must be a finite position > 0, got " + end);
            double prevEnd = lastEnd[unit.ordinal()];
            if (end <= prevEnd)
                throw new IllegalArgumentException("stage " + (stages.size() + 1) + " ends at " + fmt(end, unit) + ", not after the previous " + unit.name().toLowerCase(Locale.ROOT) + " boundary " + fmt(prevEnd, unit));
            double start = 0;
            if (shape != Shape.CONSTANT && lastUnit != null) {
                if (lastUnit != unit)
                    throw new IllegalArgumentException("stage " + (stages.size() + 1) + " (" + shape.name().toLowerCase(Locale.ROOT) + " in " + unit.name().toLowerCase(Locale.ROOT)
                            + ") must start where the previous stage ends, but that stage ends in " + lastUnit.name().toLowerCase(Locale.ROOT));
                start = prevEnd;
            }
            stages.add(new Stage(shape, unit, start, end, value, to));
            value = to;
            lastEnd[unit.ordinal()] = end;
            lastUnit = unit;
            return this;
        }

        public LrSchedule build() { return new LrSchedule(initial, stages); }
    }

    private static void finite(String what, double v) {
        if (!Double.isFinite(v)) throw new IllegalArgumentException(what + " must be finite, got " + v);
    }

    private static String fmt(double x, Unit u) { return String.format(Locale.ROOT, "%.6g%s", x, u == Unit.STEPS ? "s" : "t"); }

    // ---- text form ----

    /** Parses the text form (see the class comment); errors name the stage and the bad field. */
    public static LrSchedule parse(String text) {
        if (text == null || text.isBlank()) throw new IllegalArgumentException("empty schedule");
        String[] parts = text.split(";");
        double init = number(parts[0].trim(), "start value", text);
        Builder b = builder(init);
        for (int i = 1; i < parts.length; i++) {
            String st = parts[i].trim();
            String[] f = st.split("\\s+");
            if (f.length < 2 || f.length > 3)
                throw new IllegalArgumentException("schedule '" + text + "': stage " + i + " '" + st + "' is not 'SHAPE END(s|t) [VALUE]'");
            Shape shape;
            try {
                shape = Shape.valueOf(f[0].toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("schedule '" + text + "': stage " + i + " shape '" + f[0] + "' is not constant, linear or cosine");
            }
            String e = f[1];
            char u = e.isEmpty() ? ' ' : Character.toLowerCase(e.charAt(e.length() - 1));
            if (u != 's' && u != 't')
                throw new IllegalArgumentException("schedule '" + text + "': stage " + i + " end '" + e + "' must end in s (steps) or t (tokens)");
            Unit unit = u == 's' ? Unit.STEPS : Unit.TOKENS;
            double end = number(e.substring(0, e.length() - 1), "stage " + i + " end", text);
            if (f.length == 2 && shape != Shape.CONSTANT)
                throw new IllegalArgumentException("schedule '" + text + "': stage " + i + " (" + f[0] + ") needs a target value");
            double to = f.length == 3 ? number(f[2], "stage " + i + " value", text) : b.value;
            try {
                b.add(shape, unit, end, to);
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException("schedule '" + text + "': " + ex.getMessage(), ex);
            }
        }
        return b.build();
    }

    private static double number(String s, String what, String text) {
        try {
            return Double.parseDouble(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("schedule '" + text + "': " + what + " '" + s + "' is not a number");
        }
    }

    /** The text form of this schedule (parses back to an equal schedule). */
    @Override public String toString() {
        StringBuilder sb = new StringBuilder(Double.toString(initial));
        for (Stage s : stages) {
            sb.append("; ").append(s.shape.name().toLowerCase(Locale.ROOT)).append(' ')
                    .append(s.end).append(s.unit == Unit.STEPS ? 's' : 't').append(' ').append(s.to);
        }
        return sb.toString();
    }

    @Override public boolean equals(Object o) {
        return o instanceof LrSchedule l && Double.compare(l.initial, initial) == 0 && l.stages.equals(stages);
    }

    @Override public int hashCode() { return stages.hashCode() * 31 + Double.hashCode(initial); }

    // ---- the report's schedules (docs/architecture.md §7.1, §5.3, §6.2) ----

    /** Tokens of DeepSeek-V3 pre-training (14.8T). */
    public static final double V3_TOKENS = 14.8e12;

    /**
     * The report's learning rate: 0 -> 2.2e-4 linearly over 2000 steps; 2.2e-4 until 10T tokens; cosine to 2.2e-5
     * at 14.3T; 2.2e-5 until 14.633T (333B more); 7.3e-6 until 14.8T (167B more).
     */
    public static LrSchedule deepseekV3Lr() { return deepseekV3Lr(2.2e-4, 2000, V3_TOKENS); }

    /**
     * The report's learning-rate shape for a run of {@code totalTokens}: token boundaries scaled by
     * totalTokens / 14.8T, values by peak / 2.2e-4, warmup over {@code warmupSteps} steps.
     */
    public static LrSchedule deepseekV3Lr(double peak, long warmupSteps, double totalTokens) {
        double s = totalTokens / V3_TOKENS, v = peak / 2.2e-4;
        Builder b = builder(0);
        if (warmupSteps > 0) b.linear(Unit.STEPS, warmupSteps, peak);
        else b.constant(Unit.STEPS, 1, peak);
        return b.constant(Unit.TOKENS, 10e12 * s, peak)
                .cosine(Unit.TOKENS, 14.3e12 * s, 2.2e-5 * v)
                .constant(Unit.TOKENS, 14.633e12 * s, 2.2e-5 * v)
                .constant(Unit.TOKENS, 14.8e12 * s, 7.3e-6 * v)
                .build();
    }

    /** gamma = 0.001 for the first 14.3T of 14.8T tokens, then 0 (scaled to {@code totalTokens}). */
    public static LrSchedule deepseekV3Gamma(double totalTokens) {
        double s = totalTokens / V3_TOKENS;
        return builder(0.001).constant(Unit.TOKENS, 14.3e12 * s, 0.001).constant(Unit.TOKENS, 14.8e12 * s, 0).build();
    }

    /** lambda = 0.3 for the first 10T of 14.8T tokens, then 0.1 (scaled to {@code totalTokens}). */
    public static LrSchedule deepseekV3Lambda(double totalTokens) {
        double s = totalTokens / V3_TOKENS;
        return builder(0.3).constant(Unit.TOKENS, 10e12 * s, 0.3).constant(Unit.TOKENS, 14.8e12 * s, 0.1).build();
    }
}
