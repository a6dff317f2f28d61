package dev.jseek.posttrain;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The weighted sum of several rewards; {@link #parts} scores each part (for metrics). */
public final class WeightedReward implements Reward {
    /** One part: a reward and its weight. */
    public record Part(Reward reward, double weight) {}

    private final List<Part> parts;

    public WeightedReward(List<Part> parts) {
        if (parts.isEmpty()) throw new IllegalArgumentException("no rewards");
        this.parts = List.copyOf(parts);
    }

    public List<Part> parts() { return parts; }

    /** Each part's unweighted score. */
    public double[] scores(RlPrompt p, int[] promptTokens, Completion c) {
        double[] s = new double[parts.size()];
        for (int i = 0; i < s.length; i++) s[i] = parts.get(i).reward().score(p, promptTokens, c);
        return s;
    }

    @Override public double score(RlPrompt p, int[] promptTokens, Completion c) {
        double[] s = scores(p, promptTokens, c);
        double t = 0;
        for (int i = 0; i < s.length; i++) t += parts.get(i).weight() * s[i];
        return t;
    }

    @Override public String name() {
        List<String> n = new ArrayList<>();
        for (Part p : parts) n.add(p.weight() == 1 ? p.reward().name() : String.format(Locale.ROOT, "%s=%s", p.reward().name(), p.weight()));
        return String.join(",", n);
    }
}
