package dev.jseek.fp8;

/**
 * Error of a GEMM result C against a double reference R (used by the tests and {@code jseek bench fp8-gemm}). The
 * relative error of an element is |C - R| / max(|R|, rms(R)): relative to the element, but with a floor at the RMS
 * of the reference so that outputs near zero (random signs cancel) do not make the maximum meaningless.
 *
 * @param maxRel the largest element relative error
 * @param meanRel the mean element relative error
 */
public record GemmError(double maxRel, double meanRel) {
    public static GemmError of(float[] c, double[] r) {
        if (c.length < r.length) throw new IllegalArgumentException("result has " + c.length + " elements, reference " + r.length);
        double ss = 0;
        for (double v : r) ss += v * v;
        double floor = Math.sqrt(ss / Math.max(1, r.length));
        double max = 0, sum = 0;
        for (int i = 0; i < r.length; i++) {
            double diff = Math.abs(c[i] - r[i]), den = Math.max(Math.abs(r[i]), floor);
            double e = diff == 0 ? 0 : den == 0 || !(diff <= Double.MAX_VALUE) ? Double.POSITIVE_INFINITY : diff / den;
            max = Math.max(max, e);
            sum += e;
        }
        return new GemmError(max, r.length == 0 ? 0 : sum / r.length);
    }
}
