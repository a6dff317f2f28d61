package dev.jseek.pipeline;

import dev.jseek.parallel.Communicator;
import dev.jseek.parallel.SubComm;

/**
 * The ranks of a combined layout {@code pp x dp x ep} (report §3.2: pipeline, expert and ZeRO-1 data parallelism
 * together): world rank {@code (p dp + d) ep + e} runs pipeline rank p of replica {@code j = d ep + e}. Expert
 * parallelism is innermost, so an expert-parallel group is {@code ep} consecutive ranks (one machine under
 * {@code --map-by slot}), and the stages are outermost.
 * <ul>
 *   <li>{@link #pipeline()}: the pp ranks of replica j (stages 0..pp-1), which run the schedule together;</li>
 *   <li>{@link #data()}: the dp x ep ranks of stage p, one per replica in replica order: they split each step's
 *       micro-batches (replica j takes the j-th contiguous share) and share the ZeRO-1 optimizer state;</li>
 *   <li>{@link #expert()}: the ep ranks of stage p and data replica d, over which the routed experts are sharded.</li>
 * </ul>
 * Groups are {@link SubComm}s of the world on tag bands 1 (pipeline), 2 (data) and 3 (expert); with dp = ep = 1 the
 * pipeline group is the world itself and the other two are single ranks.
 */
public record RankGrid(int pp, int dp, int ep, Communicator world, Communicator pipeline, Communicator data, SubComm expert) {

    /** The grid of {@code world}'s ranks; world.size() must be pp x dp x ep. */
    public static RankGrid of(Communicator world, int pp, int dp, int ep) {
        if (pp < 1 || dp < 1 || ep < 1) throw new IllegalArgumentException("pp, dp and ep must be >= 1, got " + pp + ", " + dp + ", " + ep);
        if (world.size() != pp * dp * ep)
            throw new IllegalArgumentException("pp=" + pp + " x dp=" + dp + " x ep=" + ep + " needs " + pp * dp * ep + " ranks, the group has " + world.size());
        int r = world.rank(), e = r % ep, d = r / ep % dp, p = r / (ep * dp), R = dp * ep;
        if (R == 1) return new RankGrid(pp, dp, ep, world, world, null, null);
        int[] pipe = new int[pp], data = new int[R], expert = new int[ep];
        for (int q = 0; q < pp; q++) pipe[q] = q * R + d * ep + e;
        for (int j = 0; j < R; j++) data[j] = p * R + j;
        for (int q = 0; q < ep; q++) expert[q] = p * R + d * ep + q;
        return new RankGrid(pp, dp, ep, world, pp == 1 ? world : new SubComm(world, pipe, 1), new SubComm(world, data, 2),
                ep == 1 ? null : new SubComm(world, expert, 3));
    }

    /** Replicas of the pipeline: dp x ep. */
    public int replicas() { return dp * ep; }

    /** This rank's replica j = d ep + e. */
    public int replica() { return world.rank() % (dp * ep); }

    /** This rank's pipeline rank p. */
    public int stageRank() { return world.rank() / (dp * ep); }

    /** One line: the layout and this rank's place in it. */
    public String describe() {
        return "pp=" + pp + " x dp=" + dp + " x ep=" + ep + " (" + world.size() + " ranks: rank = (p dp + d) ep + e; " + replicas()
                + " pipeline replica" + (replicas() == 1 ? "" : "s") + ", ZeRO-1 over the " + replicas() + " ranks of each stage"
                + (ep > 1 ? ", experts sharded over " + ep + " consecutive ranks" : "") + ")";
    }
}
