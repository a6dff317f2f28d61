package dev.jseek.parallel;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A communicator over a subset of a parent's ranks (as {@code MPI_Comm_split} makes one): the pipeline, data and
 * expert-parallel groups of a combined layout ({@code dev.jseek.pipeline.RankGrid}). Every operation is built on the
 * parent's point-to-point {@link Communicator#post}, so it works on both backends, keeps the parent's deadline and
 * moves bytes only between the members. Rank i of the group is parent rank {@code members[i]}.
 *
 * <p>Tags: the group owns the parent's tags [{@code band} x {@value #BAND}, ({@code band} + 1) x {@value #BAND});
 * its callers' transfers use tags [0, {@value #USER_TAGS}) of it, its collectives the last 8, one per {@link #role}.
 * Groups sharing two ranks need different bands, and the parent's own transfers keep to band 0. Collectives of one
 * role complete in call order on every member; two roles may have collectives in flight at once
 * ({@link #postAllToAllV}), as an F&amp;B pair's two micro-batches do (report Figure 4).
 */
public final class SubComm implements Communicator {
    /** Tags per band. */
    public static final int BAND = 4096;
    /** Tags of a band left to the group's callers. */
    public static final int USER_TAGS = BAND - 8;

    private final Communicator parent;
    private final int[] members;
    private final int rank, band, role;
    private final HeapScratch scratch = new HeapScratch();

    /**
     * The group of parent ranks {@code members} (distinct, containing the parent's rank) on tag band {@code band}
     * (1..7; 0 is the parent's own).
     */
    public SubComm(Communicator parent, int[] members, int band) { this(parent, members, band, 0); }

    private SubComm(Communicator parent, int[] members, int band, int role) {
        if (band < 1 || band > 32767 / BAND) throw new IllegalArgumentException("tag band " + band + " outside 1.." + 32767 / BAND);
        if (role < 0 || role > 7) throw new IllegalArgumentException("role " + role + " outside 0..7");
        int me = -1;
        for (int i = 0; i < members.length; i++) {
            if (members[i] < 0 || members[i] >= parent.size()) throw new IllegalArgumentException("member " + members[i] + " outside the parent's " + parent.size() + " ranks");
            for (int j = 0; j < i; j++) if (members[j] == members[i]) throw new IllegalArgumentException("member " + members[i] + " listed twice");
            if (members[i] == parent.rank()) me = i;
        }
        if (me < 0) throw new IllegalArgumentException("parent rank " + parent.rank() + " is not in the group " + Arrays.toString(members));
        this.parent = parent;
        this.members = members.clone();
        this.rank = me;
        this.band = band;
        this.role = role;
    }

    /**
     * The same group with collectives on tag {@code role} (0..7) and scratch buffers of its own: operations of
     * different roles may be in flight at once.
     */
    public SubComm role(int role) { return new SubComm(parent, members, band, role); }

    /** The parent ranks of the members, in group order. */
    public int[] members() { return members.clone(); }

    @Override public int rank() { return rank; }
    @Override public int size() { return members.length; }
    @Override public String backend() { return parent.backend(); }

    private int collectiveTag() { return band * BAND + USER_TAGS + role; }

    private Transfer to(int peer, MemorySegment buf, long off, int count, ElemType type) {
        return Transfer.send(members[peer], collectiveTag(), buf.asSlice(off * type.bytes(), (long) count * type.bytes()), count, type);
    }

    private Transfer from(int peer, MemorySegment buf, long off, int count, ElemType type) {
        return Transfer.recv(members[peer], collectiveTag(), buf.asSlice(off * type.bytes(), (long) count * type.bytes()), count, type);
    }

    @Override public void allToAllV(MemorySegment send, int[] sc, int[] sd, MemorySegment recv, int[] rc, int[] rd, ElemType type) {
        postAllToAllV(send, sc, sd, recv, rc, rd, type).await();
    }

    /**
     * {@link #allToAllV} posted: this rank's own piece is copied now, the others arrive in {@code recv} by
     * {@link Pending#await}. Zero counts move nothing (both sides know them).
     */
    public Pending postAllToAllV(MemorySegment send, int[] sc, int[] sd, MemorySegment recv, int[] rc, int[] rd, ElemType type) {
        int n = members.length;
        Communicator.checkCounts(sc, n, "all-to-all-v send");
        Communicator.checkCounts(rc, n, "all-to-all-v receive");
        if (sc[rank] != rc[rank])
            throw new CommException("all-to-all-v: rank " + rank + " sends " + sc[rank] + " elements to itself but expects " + rc[rank]);
        List<Transfer> batch = new ArrayList<>();
        for (int j = 0; j < n; j++) {
            if (j == rank) continue;
            if (rc[j] > 0) batch.add(from(j, recv, rd[j], rc[j], type));
            if (sc[j] > 0) batch.add(to(j, send, sd[j], sc[j], type));
        }
        int b = type.bytes();
        MemorySegment.copy(send, (long) sd[rank] * b, recv, (long) rd[rank] * b, (long) sc[rank] * b);
        return parent.post(batch);
    }

    @Override public void allGatherV(MemorySegment send, MemorySegment recv, int[] counts, ElemType type) {
        int n = members.length;
        Communicator.checkCounts(counts, n, "all-gather");
        int[] d = Communicator.displs(counts);
        List<Transfer> batch = new ArrayList<>();
        for (int j = 0; j < n; j++) {
            if (j == rank) continue;
            if (counts[j] > 0) batch.add(from(j, recv, d[j], counts[j], type));
            if (counts[rank] > 0) batch.add(to(j, send, 0, counts[rank], type));
        }
        MemorySegment.copy(send, 0, recv, (long) d[rank] * type.bytes(), (long) counts[rank] * type.bytes());
        parent.post(batch).await();
    }

    @Override public void broadcast(MemorySegment buf, int count, int root, ElemType type) {
        if (root < 0 || root >= members.length) throw new IllegalArgumentException("broadcast root " + root + " outside 0.." + (members.length - 1));
        List<Transfer> batch = new ArrayList<>();
        if (rank == root) {
            for (int j = 0; j < members.length; j++) if (j != root && count > 0) batch.add(to(j, buf, 0, count, type));
        } else if (count > 0) batch.add(from(root, buf, 0, count, type));
        parent.post(batch).await();
    }

    @Override public void barrier() {
        MemorySegment out = MemorySegment.ofArray(new byte[1]), in = MemorySegment.ofArray(new byte[members.length]);
        List<Transfer> batch = new ArrayList<>();
        for (int j = 0; j < members.length; j++) {
            if (j == rank) continue;
            batch.add(from(j, in, j, 1, ElemType.BYTE));
            batch.add(to(j, out, 0, 1, ElemType.BYTE));
        }
        parent.post(batch).await();
    }

    @Override public void exchange(List<Transfer> batch) { post(batch).await(); }

    /** Peers are group ranks; tags must lie in [0, {@link #USER_TAGS}). */
    @Override public Pending post(List<Transfer> batch) {
        List<Transfer> mapped = new ArrayList<>(batch.size());
        for (Transfer t : batch) {
            if (t.peer() >= members.length || t.peer() == rank)
                throw new IllegalArgumentException("transfer peer " + t.peer() + " of rank " + rank + " in a group of " + members.length);
            if (t.tag() >= USER_TAGS) throw new IllegalArgumentException("transfer tag " + t.tag() + " of a sub-communicator must be below " + USER_TAGS);
            mapped.add(new Transfer(t.send(), members[t.peer()], band * BAND + t.tag(), t.buf(), t.count(), t.type()));
        }
        return parent.post(mapped);
    }

    @Override public MemorySegment scratch(int slot, long bytes) { return scratch.get(slot, bytes); }

    @Override public void abort(String message) { parent.abort(message); }

    /** The parent stays open. */
    @Override public void close() {}

    @Override public String toString() { return "group " + Arrays.toString(members) + " (rank " + rank + ") of " + parent; }
}
