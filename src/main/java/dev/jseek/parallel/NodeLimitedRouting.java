package dev.jseek.parallel;

/**
 * Node-limited routing of expert parallelism (report §2.1.2, §3.2.2): the routed experts are sharded over the EP
 * ranks in consecutive blocks, the ranks are grouped into nodes of {@code ranksPerNode}, and each token's top-K
 * experts must lie on at most M nodes ({@code maxNodes}; V3: 4 of 8), so its dispatch crosses at most M inter-node
 * links. The nodes are chosen by the sum of the K/M highest selection scores (affinity + routing bias, report §2.1.2)
 * of the experts on each node; the top-K experts are then taken among the chosen nodes' experts. M = all nodes is
 * plain top-K. Ties go to the lower node or expert index. DeepSeek-V3's group-limited gate is this rule with its
 * expert groups as nodes.
 */
public final class NodeLimitedRouting {
    private final int experts, nodes, perNode, maxNodes, topK, perNodeTop;
    private final float[] nodeScore;
    private final boolean[] keep;

    /**
     * @param experts routed experts (a multiple of ranks)
     * @param ranks EP ranks (a multiple of ranksPerNode)
     */
    public NodeLimitedRouting(int experts, int ranks, int ranksPerNode, int maxNodes, int topK) {
        if (ranks < 1 || ranksPerNode < 1 || ranks % ranksPerNode != 0)
            throw new IllegalArgumentException(ranks + " EP ranks do not split into nodes of " + ranksPerNode);
        if (experts < 1 || experts % ranks != 0) throw new IllegalArgumentException(experts + " experts do not split over " + ranks + " EP ranks");
        this.nodes = ranks / ranksPerNode;
        if (maxNodes < 1 || maxNodes > nodes) throw new IllegalArgumentException("max nodes per token " + maxNodes + " outside 1.." + nodes);
        if (topK < 1 || topK % maxNodes != 0) throw new IllegalArgumentException("top-" + topK + " is not a multiple of the " + maxNodes + " nodes per token");
        this.experts = experts;
        this.perNode = experts / nodes;
        this.maxNodes = maxNodes;
        this.topK = topK;
        this.perNodeTop = topK / maxNodes;
        if (perNodeTop > perNode || topK > maxNodes * perNode)
            throw new IllegalArgumentException("top-" + topK + " over " + maxNodes + " nodes of " + perNode + " experts is impossible");
        this.nodeScore = new float[nodes];
        this.keep = new boolean[nodes];
    }

    /** Nodes of the layout. */
    public int nodes() { return nodes; }

    /** Node of expert e. */
    public int nodeOf(int e) { return e / perNode; }

    /**
     * Selects the top-K experts of one token: {@code sel[off + e]} is expert e's selection score; writes the expert
     * ids, best first, to {@code out[outOff .. outOff + K)}. Not thread-safe (per-instance scratch).
     */
    public void select(float[] sel, int off, int[] out, int outOff) {
        for (int n = 0; n < nodes; n++) {                   // sum of the perNodeTop best scores of the node
            float s = 0;
            int base = off + n * perNode;
            long taken = 0;                                 // experts of the node already counted (perNode <= 64 fast path)
            boolean[] used = perNode > 64 ? new boolean[perNode] : null;
            for (int j = 0; j < perNodeTop; j++) {
                int best = -1;
                for (int i = 0; i < perNode; i++) {
                    boolean u = used != null ? used[i] : (taken >>> i & 1) != 0;
                    if (!u && (best < 0 || sel[base + i] > sel[base + best])) best = i;
                }
                if (used != null) used[best] = true; else taken |= 1L << best;
                s += sel[base + best];
            }
            nodeScore[n] = s;
        }
        java.util.Arrays.fill(keep, false);
        for (int j = 0; j < maxNodes; j++) {
            int best = -1;
            for (int n = 0; n < nodes; n++) if (!keep[n] && (best < 0 || nodeScore[n] > nodeScore[best])) best = n;
            keep[best] = true;
        }
        for (int j = 0; j < topK; j++) {
            int best = -1;
            for (int e = 0; e < experts; e++) {
                if (!keep[e / perNode]) continue;
                boolean dup = false;
                for (int q = 0; q < j; q++) if (out[outOff + q] == e) { dup = true; break; }
                if (!dup && (best < 0 || sel[off + e] > sel[off + best])) best = e;
            }
            out[outOff + j] = best;
        }
    }
}
