package dev.jseek.train.ref;

import dev.jseek.model.ModelConfig;
import dev.jseek.train.ParamLayout;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Double-precision forward twin of the training model, written as plain scalar code straight from the
 * equations of docs/architecture.md §3-§6, independent of the float modules. It reads parameters from a double copy of the
 * parameter arena by HF name. Tests use it as the forward oracle and, by central differences, as the gradient oracle.
 */
public final class Ref {
    public final ModelConfig c;
    public final ParamLayout pl;
    public final double[] p;

    public Ref(ModelConfig c, ParamLayout pl, double[] p) {
        this.c = c;
        this.pl = pl;
        this.p = p;
    }

    int off(String name) { return pl.offset(name); }

    // ---------------- primitives ----------------

    /** Y[n][out] = X W^T with W [out][in] at p[wo..]. */
    public static double[][] linear(double[][] x, double[] p, int wo, int out, int in) {
        double[][] y = new double[x.length][out];
        for (int r = 0; r < x.length; r++)
            for (int j = 0; j < out; j++) {
                double s = 0;
                for (int i = 0; i < in; i++) s += x[r][i] * p[wo + j * in + i];
                y[r][j] = s;
            }
        return y;
    }

    public static double[] rmsnorm(double[] x, double[] p, int wo, double eps) {
        double ss = 0;
        for (double v : x) ss += v * v;
        double r = 1 / Math.sqrt(ss / x.length + eps);
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = p[wo + i] * x[i] * r;
        return y;
    }

    public static double[][] rmsnormRows(double[][] x, double[] p, int wo, double eps) {
        double[][] y = new double[x.length][];
        for (int r = 0; r < x.length; r++) y[r] = rmsnorm(x[r], p, wo, eps);
        return y;
    }

    static double sigmoid(double z) { return 1 / (1 + Math.exp(-z)); }

    /** YaRN-corrected inverse frequencies, written from docs/architecture.md §4.2 (interpolation f/s, extrapolation f, ramp). */
    public static double[] ropeFreqs(ModelConfig c) {
        int dim = c.qkRopeHeadDim(), half = dim / 2;
        double[] out = new double[half];
        for (int i = 0; i < half; i++) {
            double extra = Math.pow(c.ropeTheta(), -2.0 * i / dim);
            out[i] = extra;
            if (c.ropeScaling() != null) {
                ModelConfig.RopeScaling y = c.ropeScaling();
                double lowD = dim * Math.log(y.originalMaxPositionEmbeddings() / (y.betaFast() * 2 * Math.PI)) / (2 * Math.log(c.ropeTheta()));
                double highD = dim * Math.log(y.originalMaxPositionEmbeddings() / (y.betaSlow() * 2 * Math.PI)) / (2 * Math.log(c.ropeTheta()));
                double low = Math.max(Math.floor(lowD), 0), high = Math.min(Math.ceil(highD), dim - 1);
                if (low == high) high += 0.001;
                double ramp = (i - low) / (high - low);
                ramp = ramp < 0 ? 0 : ramp > 1 ? 1 : ramp;
                double inter = extra / y.factor();
                out[i] = inter * ramp + extra * (1 - ramp);
            }
        }
        return out;
    }

    /** HF attention factor on cos/sin and softmax scale (docs/architecture.md §4.3), computed independently. */
    public static double[] scales(ModelConfig c) {
        double af = 1, sm = 1 / Math.sqrt(c.qkNopeHeadDim() + c.qkRopeHeadDim());
        ModelConfig.RopeScaling y = c.ropeScaling();
        if (y != null) {
            double s = y.factor();
            java.util.function.DoubleUnaryOperator ms = m -> s <= 1 ? 1 : 0.1 * m * Math.log(s) + 1;
            if (y.mscale() != 0 && y.mscaleAllDim() != 0) af = ms.applyAsDouble(y.mscale()) / ms.applyAsDouble(y.mscaleAllDim());
            else af = ms.applyAsDouble(1);
            if (y.mscaleAllDim() != 0) { double m = ms.applyAsDouble(y.mscaleAllDim()); sm *= m * m; }
        }
        return new double[] {af, sm};
    }

    /** Rotates pairs (v[o+2i], v[o+2i+1]) by pos * f_i, scaled by af. */
    public static void rope(double[] v, int o, int pos, double[] f, double af) {
        for (int i = 0; i < f.length; i++) {
            double ang = pos * f[i], cs = af * Math.cos(ang), sn = af * Math.sin(ang);
            double a = v[o + 2 * i], b = v[o + 2 * i + 1];
            v[o + 2 * i] = a * cs - b * sn;
            v[o + 2 * i + 1] = a * sn + b * cs;
        }
    }

    /** Mean CE over rows with target >= 0. */
    public static double crossEntropy(double[][] logits, int[] targets) {
        double loss = 0;
        int n = 0;
        for (int r = 0; r < logits.length; r++) {
            if (targets[r] < 0) continue;
            double max = Double.NEGATIVE_INFINITY;
            for (double v : logits[r]) max = Math.max(max, v);
            double s = 0;
            for (double v : logits[r]) s += Math.exp(v - max);
            loss += Math.log(s) + max - logits[r][targets[r]];
            n++;
        }
        return n == 0 ? 0 : loss / n;
    }

    // ---------------- modules ----------------

    /** MLA naive mode (docs/architecture.md §3.1, §3.2) over B sequences of T rows. */
    public double[][] mla(double[][] x, int B, int T, String pre) {
        int H = c.numAttentionHeads(), nope = c.qkNopeHeadDim(), rd = c.qkRopeHeadDim(), vd = c.vHeadDim();
        int qk = nope + rd, qr = c.hasQLora() ? c.qLoraRank() : 0, kvr = c.kvLoraRank(), dim = c.hiddenSize(), N = B * T;
        double eps = (float) c.rmsNormEps();
        double[] f = ropeFreqs(c), sc = scales(c);
        double[][] q;
        if (qr > 0) {
            double[][] cq = rmsnormRows(linear(x, p, off(pre + "q_a_proj.weight"), qr, dim), p, off(pre + "q_a_layernorm.weight"), eps);
            q = linear(cq, p, off(pre + "q_b_proj.weight"), H * qk, qr);
        } else {
            q = linear(x, p, off(pre + "q_proj.weight"), H * qk, dim);
        }
        double[][] a = linear(x, p, off(pre + "kv_a_proj_with_mqa.weight"), kvr + rd, dim);
        double[][] ckv = new double[N][], kpe = new double[N][];
        for (int r = 0; r < N; r++) {
            ckv[r] = rmsnorm(java.util.Arrays.copyOfRange(a[r], 0, kvr), p, off(pre + "kv_a_layernorm.weight"), eps);
            kpe[r] = java.util.Arrays.copyOfRange(a[r], kvr, kvr + rd);
            rope(kpe[r], 0, r % T, f, sc[0]);
            for (int h = 0; h < H; h++) rope(q[r], h * qk + nope, r % T, f, sc[0]);
        }
        double[][] kv = linear(ckv, p, off(pre + "kv_b_proj.weight"), H * (nope + vd), kvr);
        double[][] o = new double[N][H * vd];
        for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++)
                for (int t = 0; t < T; t++) {
                    double[] sco = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int s = 0; s <= t; s++) {
                        double dot = 0;
                        for (int i = 0; i < nope; i++) dot += q[b * T + t][h * qk + i] * kv[b * T + s][h * (nope + vd) + i];
                        for (int i = 0; i < rd; i++) dot += q[b * T + t][h * qk + nope + i] * kpe[b * T + s][i];
                        sco[s] = sc[1] * dot;
                        max = Math.max(max, sco[s]);
                    }
                    double z = 0;
                    for (int s = 0; s <= t; s++) { sco[s] = Math.exp(sco[s] - max); z += sco[s]; }
                    for (int s = 0; s <= t; s++)
                        for (int i = 0; i < vd; i++) o[b * T + t][h * vd + i] += sco[s] / z * kv[b * T + s][h * (nope + vd) + nope + i];
                }
        return linear(o, p, off(pre + "o_proj.weight"), dim, H * vd);
    }

    /** SwiGLU FFN of one row (docs/architecture.md §5.1). */
    public double[] ffn(double[] x, String pre, int inter) {
        int dim = x.length;
        int g = off(pre + "gate_proj.weight"), u = off(pre + "up_proj.weight"), dn = off(pre + "down_proj.weight");
        double[] h = new double[inter];
        for (int j = 0; j < inter; j++) {
            double gs = 0, us = 0;
            for (int i = 0; i < dim; i++) { gs += p[g + j * dim + i] * x[i]; us += p[u + j * dim + i] * x[i]; }
            h[j] = gs * sigmoid(gs) * us;
        }
        double[] y = new double[dim];
        for (int i = 0; i < dim; i++) {
            double s = 0;
            for (int j = 0; j < inter; j++) s += p[dn + i * inter + j] * h[j];
            y[i] = s;
        }
        return y;
    }

    /** Expert ids selected for one token (docs/architecture.md §5.2 steps 3-5), largest biased score first. */
    public int[] select(double[] s, int biasOff) {
        int E = s.length, G = c.nGroup(), gs = E / G, K = c.numExpertsPerTok();
        double[] cb = new double[E];
        for (int i = 0; i < E; i++) cb[i] = s[i] + p[biasOff + i];
        double[] masked = cb.clone();
        if (G > 1) {
            double[] gscore = new double[G];
            for (int g = 0; g < G; g++) {
                List<Double> vals = new ArrayList<>();
                for (int i = g * gs; i < (g + 1) * gs; i++) vals.add(cb[i]);
                vals.sort(Comparator.reverseOrder());
                gscore[g] = vals.get(0) + (gs >= 2 ? vals.get(1) : 0);
            }
            List<Integer> order = new ArrayList<>();
            for (int g = 0; g < G; g++) order.add(g);
            order.sort((x1, x2) -> gscore[x1] != gscore[x2] ? Double.compare(gscore[x2], gscore[x1]) : Integer.compare(x1, x2));
            for (int k = c.topkGroup(); k < G; k++) {
                int g = order.get(k);
                for (int i = g * gs; i < (g + 1) * gs; i++) masked[i] = Double.NEGATIVE_INFINITY;
            }
        }
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < E; i++) order.add(i);
        order.sort((x1, x2) -> masked[x1] != masked[x2] ? Double.compare(masked[x2], masked[x1]) : Integer.compare(x1, x2));
        int[] sel = new int[K];
        for (int k = 0; k < K; k++) sel[k] = order.get(k);
        return sel;
    }

    /**
     * MoE (docs/architecture.md §5.2) over B sequences of T rows; adds the balance loss (docs/architecture.md §5.4; classic batch-wise when
     * !seqWise) to bal[0]; if selOut != null stores the selection per row.
     */
    public double[][] moe(double[][] x, int B, int T, String pre, double alpha, boolean seqWise, double[] bal, int[][] selOut) {
        int N = B * T, E = c.nRoutedExperts(), K = c.numExpertsPerTok(), dim = c.hiddenSize(), I = c.moeIntermediateSize();
        double[][] logits = linear(x, p, off(pre + "gate.weight"), E, dim);
        double[][] s = new double[N][E];
        int[][] sel = new int[N][];
        double[][] y = new double[N][];
        for (int t = 0; t < N; t++) {
            for (int i = 0; i < E; i++) s[t][i] = sigmoid(logits[t][i]);
            sel[t] = select(s[t], off(pre + "gate.e_score_correction_bias"));
            double den = 0;
            for (int e : sel[t]) den += s[t][e];
            y[t] = c.nSharedExperts() > 0 ? ffn(x[t], pre + "shared_experts.", I * c.nSharedExperts()) : new double[dim];
            for (int e : sel[t]) {
                double g = c.normTopkProb() ? s[t][e] / (den + 1e-20) : s[t][e];
                g *= c.routedScalingFactor();
                double[] ye = ffn(x[t], pre + "experts." + e + ".", I);
                for (int i = 0; i < dim; i++) y[t][i] += g * ye[i];
            }
        }
        if (selOut != null) System.arraycopy(sel, 0, selOut, 0, N);
        if (alpha > 0) {
            int seqs = seqWise ? B : 1, len = seqWise ? T : N;
            double total = 0;
            for (int b = 0; b < seqs; b++) {
                double[] fi = new double[E], pi = new double[E];
                for (int t = b * len; t < (b + 1) * len; t++) {
                    for (int e : sel[t]) fi[e] += (double) E / (K * len);
                    double z = 0;
                    for (double v : s[t]) z += v;
                    for (int i = 0; i < E; i++) pi[i] += s[t][i] / z / len;
                }
                for (int i = 0; i < E; i++) total += fi[i] * pi[i];
            }
            bal[0] += alpha * total / seqs;
        }
        return y;
    }

    /** Pre-norm block of HF layer {@code layer}. */
    public double[][] block(double[][] x, int B, int T, int layer, double alpha, boolean seqWise, double[] bal) {
        String pre = "model.layers." + layer + ".";
        double eps = (float) c.rmsNormEps();
        int N = B * T, dim = c.hiddenSize();
        double[][] at = mla(rmsnormRows(x, p, off(pre + "input_layernorm.weight"), eps), B, T, pre + "self_attn.");
        double[][] mid = new double[N][dim];
        for (int r = 0; r < N; r++) for (int i = 0; i < dim; i++) mid[r][i] = x[r][i] + at[r][i];
        double[][] u = rmsnormRows(mid, p, off(pre + "post_attention_layernorm.weight"), eps);
        double[][] f;
        if (c.isMoeLayer(layer)) f = moe(u, B, T, pre + "mlp.", alpha, seqWise, bal, null);
        else {
            f = new double[N][];
            for (int r = 0; r < N; r++) f[r] = ffn(u[r], pre + "mlp.", c.intermediateSize());
        }
        double[][] out = new double[N][dim];
        for (int r = 0; r < N; r++) for (int i = 0; i < dim; i++) out[r][i] = mid[r][i] + f[r][i];
        return out;
    }

    /** Main model: returns {hN (after model.norm), logits}; adds balance loss to bal[0]. */
    public double[][][] main(int[] tokens, int B, int T, double alpha, boolean seqWise, double[] bal) {
        int N = B * T, dim = c.hiddenSize(), V = c.vocabSize();
        double[][] h = new double[N][dim];
        int emb = off("model.embed_tokens.weight");
        for (int r = 0; r < N; r++) for (int i = 0; i < dim; i++) h[r][i] = p[emb + tokens[r] * dim + i];
        for (int l = 0; l < c.numHiddenLayers(); l++) h = block(h, B, T, l, alpha, seqWise, bal);
        double[][] hn = rmsnormRows(h, p, off("model.norm.weight"), c.rmsNormEps());
        return new double[][][] {hn, linear(hn, p, off("lm_head.weight"), V, dim)};
    }

    /** {total, main CE, balance, MTP CE 1..D} (docs/architecture.md §6.2: total = main + lambda/D sum_k CE_k + balance). */
    public double[] loss(int[] tokens, int[] targets, int B, int T, double lambda, double alpha, boolean seqWise) {
        int dim = c.hiddenSize(), V = c.vocabSize(), D = c.numNextnPredictLayers();
        double[] bal = new double[1];
        double[][][] m = main(tokens, B, T, alpha, seqWise, bal);
        double[] out = new double[3 + D];
        out[1] = crossEntropy(m[1], targets);
        double[][] prev = m[0];
        int prevT = T;
        int emb = off("model.embed_tokens.weight"), head = off("lm_head.weight");
        double mtpSum = 0;
        for (int k = 1; k <= D; k++) {
            int L = c.numHiddenLayers() + k - 1, Tk = T - k;
            String pre = "model.layers." + L + ".";
            double[][] cat = new double[B * Tk][];
            int[] tg = new int[B * Tk];
            for (int b = 0; b < B; b++)
                for (int t = 0; t < Tk; t++) {
                    double[] e = new double[dim];
                    for (int i = 0; i < dim; i++) e[i] = p[emb + tokens[b * T + t + k] * dim + i];
                    double[] en = rmsnorm(e, p, off(pre + "enorm.weight"), c.rmsNormEps());
                    double[] hn = rmsnorm(prev[b * prevT + t], p, off(pre + "hnorm.weight"), c.rmsNormEps());
                    double[] row = new double[2 * dim];
                    System.arraycopy(en, 0, row, 0, dim);
                    System.arraycopy(hn, 0, row, dim, dim);
                    cat[b * Tk + t] = row;
                    tg[b * Tk + t] = targets[b * T + t + k];
                }
            double[][] hp = linear(cat, p, off(pre + "eh_proj.weight"), dim, 2 * dim);
            double[][] hk = block(hp, B, Tk, L, alpha, seqWise, bal);
            double[][] logits = linear(rmsnormRows(hk, p, off(pre + "shared_head.norm.weight"), c.rmsNormEps()), p, head, V, dim);
            out[2 + k] = crossEntropy(logits, tg);
            mtpSum += out[2 + k];
            prev = hk;
            prevT = Tk;
        }
        out[2] = bal[0];
        out[0] = out[1] + bal[0] + (D > 0 ? lambda * mtpSum / D : 0);
        return out;
    }
}
