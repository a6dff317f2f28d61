package dev.jseek.kernels;

/**
 * Per-thread buffers of the K-quant row-group kernels ({@link KQuantDot#q4_kRows}, {@link KQuantDot#q6_kRows}): for
 * each super-block of a group of rows, every row's integer partial sums as one vector (a row per slot) and its
 * scalars (binary16 scales decoded, Q4_K's packed mins), and the group's results. Sized for the widest row seen.
 */
final class KQuantGroup {
    /** Lane partial sums: super-block b, slot j at {@code (b * G + j) * G}, G = rows per group = int lanes. */
    int[] sums = new int[0];
    /** Per super-block b and row r at {@code b * G + r}: the weight block's d and dmin (Q4_K), its packed mins. */
    float[] d = new float[0], dmin = new float[0];
    int[] mins03 = new int[0], mins47 = new int[0];
    /** The group's results, row r at r. */
    final float[] out;
    private final int g;

    KQuantGroup(int rows) {
        g = rows;
        out = new float[rows];
    }

    /** Room for rows of nb super-blocks. */
    void ensure(int nb) {
        if (d.length < nb * g) {
            sums = new int[nb * g * g];
            d = new float[nb * g];
            dmin = new float[nb * g];
            mins03 = new int[nb * g];
            mins47 = new int[nb * g];
        }
    }
}
