package dev.jseek.train;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which routed experts one expert-parallel rank holds (report §3.2.2): rank {@code index} of a group of {@code group}
 * ranks holds the contiguous experts [index E/group, (index + 1) E/group) of every MoE layer, as {@link ExpertParallel}
 * runs them. A {@link ParamLayout} built with a shard stores only those experts' weights, so their parameters,
 * gradients and AdamW moments exist on their owners only; attention, dense layers, routers and shared experts are held
 * by every rank.
 */
public record ExpertShard(int group, int index, int experts) {
    private static final Pattern EXPERT = Pattern.compile("\\.mlp\\.experts\\.(\\d+)\\.");

    public ExpertShard {
        if (group < 2) throw new IllegalArgumentException("an expert shard needs a group of at least 2 ranks, got " + group);
        if (index < 0 || index >= group) throw new IllegalArgumentException("expert-parallel rank " + index + " outside [0, " + group + ")");
        if (experts % group != 0)
            throw new IllegalArgumentException(experts + " routed experts do not split evenly over " + group + " expert-parallel ranks");
    }

    /** True when this rank holds routed expert {@code e}. */
    public boolean holds(int e) { return e / (experts / group) == index; }

    /** The routed expert a tensor name belongs to ({@code ...mlp.experts.E.}), or -1 for every other tensor. */
    public static int expertOf(String name) {
        Matcher m = EXPERT.matcher(name);
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }
}
