package dev.jseek.pipeline;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A pipeline schedule as data (report §3.2.1): for each of {@link #ranks()} ranks the list of {@link Op}s it runs,
 * in order, for {@link #microBatches()} micro-batches flowing through {@link #stages()} stages. {@code route[mb][s]}
 * is the rank that runs stage s of micro-batch mb: in 1F1B and ZB1P stage s runs on rank s; in DualPipe the model's
 * stages exist twice, in mirror order (stage s on rank s for the first half of the micro-batches and on rank
 * PP-1-s for the second half, fed from the other end); in DualPipeV rank r holds stages r and 2R-1-r and every
 * micro-batch goes down the ranks and back up (the V).
 *
 * <p>{@link Simulator} replays a schedule and checks it; {@link PipelineRunner} executes it.
 */
public record Schedule(String name, int ranks, int stages, int microBatches, int[][] route, List<List<Op>> ops) {
    public Schedule {
        if (route.length != microBatches) throw new IllegalArgumentException("route has " + route.length + " micro-batches, expected " + microBatches);
        if (ops.size() != ranks) throw new IllegalArgumentException("ops for " + ops.size() + " ranks, expected " + ranks);
        List<List<Op>> copy = new ArrayList<>();
        for (List<Op> l : ops) copy.add(List.copyOf(l));
        ops = Collections.unmodifiableList(copy);
    }

    /** The rank running stage {@code stage} of micro-batch {@code mb}. */
    public int rankOf(int mb, int stage) { return route[mb][stage]; }

    /** The distinct stages rank r holds (each a copy of that stage's parameters), ascending. */
    public List<Integer> stagesOf(int r) {
        java.util.TreeSet<Integer> s = new java.util.TreeSet<>();
        for (int[] row : route) for (int st = 0; st < stages; st++) if (row[st] == r) s.add(st);
        return List.copyOf(s);
    }

    /** Ranks holding a copy of stage s (DualPipe: 2, whose gradients are summed). */
    public List<Integer> holdersOf(int stage) {
        java.util.TreeSet<Integer> s = new java.util.TreeSet<>();
        for (int[] row : route) s.add(row[stage]);
        return List.copyOf(s);
    }

    /**
     * A schedule from compute-only lists (F, B, W, FB): inserts the RECVs each compute op needs just before it and
     * the SENDs of what it produced for another rank just after it (after the W, when a B is followed at once by
     * its own W: an unsplit backward).
     */
    static Schedule withComm(String name, int ranks, int stages, int[][] route, List<List<Op>> compute) {
        return withComm(name, ranks, stages, route, compute, false);
    }

    /**
     * {@code wholeBackward}: every B (or FB) is followed at once by its own W and the gradient leaves after both (an
     * unsplit backward, as in 1F1B; DualPipe's unsplit backwards are marked by {@link #whole}).
     */
    static Schedule withComm(String name, int ranks, int stages, int[][] route, List<List<Op>> compute, boolean wholeBackward) {
        List<List<Op>> out = new ArrayList<>();
        for (int r = 0; r < ranks; r++) {
            List<Op> l = new ArrayList<>();
            for (int i = 0; i < compute.get(r).size(); i++) {
                Op op = compute.get(r).get(i);
                boolean whole = wholeBackward || isWhole(compute.get(r), i);
                switch (op.kind()) {
                    case F -> recvF(l, route, r, op.mb(), op.stage());
                    case B -> recvB(l, route, r, op.mb(), op.stage(), stages);
                    case FB -> { recvF(l, route, r, op.mb(), op.stage()); recvB(l, route, r, op.mb2(), op.stage2(), stages); }
                    default -> {}
                }
                l.add(op.kind() == Op.Kind.W ? Op.w(op.mb(), op.stage()) : op);
                switch (op.kind()) {
                    case F -> sendF(l, route, r, op.mb(), op.stage(), stages);
                    case B -> { if (!whole) sendB(l, route, r, op.mb(), op.stage()); }
                    case FB -> {
                        sendF(l, route, r, op.mb(), op.stage(), stages);
                        if (!whole) sendB(l, route, r, op.mb2(), op.stage2());
                    }
                    case W -> { if (whole) sendB(l, route, r, op.mb(), op.stage()); }
                    default -> {}
                }
            }
            out.add(l);
        }
        return new Schedule(name, ranks, stages, route.length, route, out);
    }

    /**
     * Marks an unsplit backward in a compute list: a W op of kind W with mb2 = -2 directly after its B (or FB)
     * stands for "the W of the backward just before, computed with it; the gradient leaves after both".
     */
    static Op whole(Op w) { return new Op(Op.Kind.W, w.mb(), w.stage(), -2, -1, false, -1); }

    /** Whether op i (a B, FB or W) belongs to an unsplit backward (see {@link #whole}). */
    private static boolean isWhole(List<Op> compute, int i) {
        Op op = compute.get(i);
        if (op.kind() == Op.Kind.W) return op.mb2() == -2;
        if (op.kind() != Op.Kind.B && op.kind() != Op.Kind.FB) return false;
        return i + 1 < compute.size() && compute.get(i + 1).kind() == Op.Kind.W && compute.get(i + 1).mb2() == -2;
    }

    private static void recvF(List<Op> l, int[][] route, int r, int mb, int s) {
        if (s > 0 && route[mb][s - 1] != r) l.add(Op.recv(mb, s, false, route[mb][s - 1]));
    }

    private static void recvB(List<Op> l, int[][] route, int r, int mb, int s, int stages) {
        if (s < stages - 1 && route[mb][s + 1] != r) l.add(Op.recv(mb, s + 1, true, route[mb][s + 1]));
    }

    private static void sendF(List<Op> l, int[][] route, int r, int mb, int s, int stages) {
        if (s < stages - 1 && route[mb][s + 1] != r) l.add(Op.send(mb, s + 1, false, route[mb][s + 1]));
    }

    private static void sendB(List<Op> l, int[][] route, int r, int mb, int s) {
        if (s > 0 && route[mb][s - 1] != r) l.add(Op.send(mb, s, true, route[mb][s - 1]));
    }

    /** The schedule's operations, one line per rank (for messages and the bench). */
    public String describe() {
        StringBuilder sb = new StringBuilder(name + ": " + ranks + " ranks, " + stages + " stages, " + microBatches + " micro-batches\n");
        for (int r = 0; r < ranks; r++) {
            sb.append("rank ").append(r).append(':');
            for (Op op : ops.get(r)) if (!op.isComm()) sb.append(' ').append(op);
            sb.append('\n');
        }
        return sb.toString();
    }
}
