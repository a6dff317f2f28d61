package dev.jseek.tensor;

/**
 * The scale searches of ggml's reference K-quant quantizers ({@code quantize_row_q4_K_ref}, {@code _q5_K_ref},
 * {@code _q6_K_ref}, what {@code llama-quantize} runs without an importance matrix), in float32 arithmetic with the
 * same operation order, so that the blocks jseek writes are byte-equal to ggml's (checked against ggml's own
 * library, {@code tools/make_quant_fixtures.py}). Java float arithmetic is IEEE binary32 without contraction, as the
 * generic x86-64 build of ggml's reference code is.
 */
public final class KQuantFit {
    private KQuantFit() {}

    /** Groups whose largest magnitude is below this are all-zero in {@link #qx} (ggml's GROUP_MAX_EPS). */
    public static final float GROUP_MAX_EPS = 1e-15f;

    /**
     * ggml's {@code nearest_int}: adds 1.5 * 2^23 so that the float addition rounds to an integer (ties to even), and
     * reads the integer off the mantissa. Valid for |v| <= 4194303 (beyond that ggml's result is garbage too; this
     * returns the same garbage).
     */
    public static int nearestInt(float v) {
        int i = Float.floatToRawIntBits(v + 12582912f);
        return (i & 0x007fffff) - 0x00400000;
    }

    /**
     * Asymmetric fit (scale and min) of n values to levels 0..nmax with per-element weights: the initial fit from the
     * range, then nstep + 1 trial inverse scales {@code (rmin + rdelta * is + nmax) / (max - min)}, each followed by a
     * weighted least-squares (scale, min) for its levels; the trial with the smallest weighted error (squared, or
     * absolute with useMad) wins. Levels go to L[lOff ..]; returns the scale and writes -min (>= 0) to theMin[mOff].
     */
    public static float qkx2(int n, int nmax, float[] x, int xOff, float[] weights, byte[] L, int lOff, float[] theMin,
                             int mOff, byte[] laux, float rmin, float rdelta, int nstep, boolean useMad) {
        float min = x[xOff], max = x[xOff];
        float sumW = weights[0];
        float sumX = sumW * x[xOff];
        for (int i = 1; i < n; i++) {
            float xi = x[xOff + i];
            if (xi < min) min = xi;
            if (xi > max) max = xi;
            float w = weights[i];
            sumW += w;
            sumX += w * xi;
        }
        if (min > 0) min = 0;
        if (max == min) {
            for (int i = 0; i < n; i++) L[lOff + i] = 0;
            theMin[mOff] = -min;
            return 0f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; i++) {
            int l = nearestInt(iscale * (x[xOff + i] - min));
            l = Math.max(0, Math.min(nmax, l));
            L[lOff + i] = (byte) l;
            float diff = scale * l + min - x[xOff + i];
            diff = useMad ? Math.abs(diff) : diff * diff;
            bestError += weights[i] * diff;
        }
        if (nstep < 1) {
            theMin[mOff] = -min;
            return scale;
        }
        for (int is = 0; is <= nstep; is++) {
            iscale = (rmin + rdelta * is + nmax) / (max - min);
            float sumL = 0, sumL2 = 0, sumXL = 0;
            for (int i = 0; i < n; i++) {
                int l = nearestInt(iscale * (x[xOff + i] - min));
                l = Math.max(0, Math.min(nmax, l));
                laux[i] = (byte) l;
                float w = weights[i];
                sumL += w * l;
                sumL2 += w * l * l;
                sumXL += w * l * x[xOff + i];
            }
            float D = sumW * sumL2 - sumL * sumL;
            if (D > 0) {
                float thisScale = (sumW * sumXL - sumX * sumL) / D;
                float thisMin = (sumL2 * sumX - sumL * sumXL) / D;
                if (thisMin > 0) {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }
                float err = 0;
                for (int i = 0; i < n; i++) {
                    float diff = thisScale * (laux[i] & 0xFF) + thisMin - x[xOff + i];
                    diff = useMad ? Math.abs(diff) : diff * diff;
                    err += weights[i] * diff;
                }
                if (err < bestError) {
                    System.arraycopy(laux, 0, L, lOff, n);
                    bestError = err;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        theMin[mOff] = -min;
        return scale;
    }

    /**
     * Symmetric fit of n values to levels -nmax..nmax-1 (stored + nmax in L[lOff ..]) with weights x^2 (ggml's
     * {@code make_qx_quants} with rmse_type 1 and no importance weights): the scale from the element of largest
     * magnitude, then 18 trial inverse scales {@code -(nmax + 0.1 is) / max}, is = -9..9, keeping the one that
     * maximizes (sum w x l)^2 / sum w l^2. Returns the scale (0 for an all-zero group).
     */
    public static float qx(int n, int nmax, float[] x, int xOff, byte[] L, int lOff) {
        float max = 0, amax = 0;
        for (int i = 0; i < n; i++) {
            float ax = Math.abs(x[xOff + i]);
            if (ax > amax) {
                amax = ax;
                max = x[xOff + i];
            }
        }
        if (amax < GROUP_MAX_EPS) {
            for (int i = 0; i < n; i++) L[lOff + i] = 0;
            return 0f;
        }
        float iscale = -nmax / max;
        float sumlx = 0, suml2 = 0;
        for (int i = 0; i < n; i++) {
            float xi = x[xOff + i];
            int l = nearestInt(iscale * xi);
            l = Math.max(-nmax, Math.min(nmax - 1, l));
            L[lOff + i] = (byte) (l + nmax);
            float w = xi * xi;
            sumlx += w * xi * l;
            suml2 += w * l * l;
        }
        float scale = suml2 != 0 ? sumlx / suml2 : 0f;
        float best = scale * sumlx;
        for (int is = -9; is <= 9; is++) {
            if (is == 0) continue;
            iscale = -(nmax + 0.1f * is) / max;
            sumlx = 0;
            suml2 = 0;
            for (int i = 0; i < n; i++) {
                float xi = x[xOff + i];
                int l = nearestInt(iscale * xi);
                l = Math.max(-nmax, Math.min(nmax - 1, l));
                float w = xi * xi;
                sumlx += w * xi * l;
                suml2 += w * l * l;
            }
            if (suml2 > 0 && sumlx * sumlx > best * suml2) {
                for (int i = 0; i < n; i++) {
                    int l = nearestInt(iscale * x[xOff + i]);
                    L[lOff + i] = (byte) (nmax + Math.max(-nmax, Math.min(nmax - 1, l)));
                }
                scale = sumlx / suml2;
                best = scale * sumlx;
            }
        }
        return scale;
    }

    /** IEEE binary16 bits of v, round to nearest even (ggml's GGML_FP32_TO_FP16). */
    static short fp16(float v) { return Float.floatToFloat16(v); }

    /** The float value of binary16 bits (exact). */
    static float fp32(short h) { return Float.float16ToFloat(h); }
}
