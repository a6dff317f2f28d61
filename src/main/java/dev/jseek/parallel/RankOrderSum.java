package dev.jseek.parallel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The reduction of every rank-ordered sum: {@code parts} holds N pieces of {@code count} floats one after another
 * (piece i came from rank i); {@code out[j] = ((p0[j] + p1[j]) + p2[j]) + ...}, always in rank order, in FP32. The
 * vector loop performs exactly the scalar additions (lane-wise, same order), so the result does not depend on the
 * vector width or on the JIT; {@link #sumScalar} is its scalar twin.
 */
public final class RankOrderSum {
    private RankOrderSum() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** out[0..count) = sum over i in [0, n) of parts[i * count + j], in order of i. */
    public static void sum(MemorySegment parts, int n, int count, MemorySegment out) {
        check(parts, n, count, out);
        long stride = (long) count * 4;
        int L = F.length();
        int j = 0;
        for (; j <= count - L; j += L) {
            long o = (long) j * 4;
            FloatVector acc = FloatVector.fromMemorySegment(F, parts, o, NATIVE);
            for (int i = 1; i < n; i++) acc = acc.add(FloatVector.fromMemorySegment(F, parts, i * stride + o, NATIVE));
            acc.intoMemorySegment(out, o, NATIVE);
        }
        for (; j < count; j++) {
            long o = (long) j * 4;
            float acc = parts.get(FL, o);
            for (int i = 1; i < n; i++) acc += parts.get(FL, i * stride + o);
            out.set(FL, o, acc);
        }
    }

    /** The scalar twin of {@link #sum} (test oracle). */
    public static void sumScalar(MemorySegment parts, int n, int count, MemorySegment out) {
        check(parts, n, count, out);
        for (int j = 0; j < count; j++) {
            float acc = parts.get(FL, 4L * j);
            for (int i = 1; i < n; i++) acc += parts.get(FL, 4L * ((long) i * count + j));
            out.set(FL, 4L * j, acc);
        }
    }

    private static void check(MemorySegment parts, int n, int count, MemorySegment out) {
        if (n < 1) throw new IllegalArgumentException("rank-ordered sum of " + n + " pieces");
        if (parts.byteSize() < (long) n * count * 4 || out.byteSize() < (long) count * 4)
            throw new IllegalArgumentException("rank-ordered sum: " + n + " x " + count + " floats do not fit the buffers");
    }
}
