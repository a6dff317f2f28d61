package dev.jseek.model;

import java.util.Map;

/**
 * Test oracle: DeepSeek-V3 written directly from docs/architecture.md §3-§6 in double precision with plain loops, over the
 * raw weight arrays of {@link TinyModels}; no jseek kernels, no {@link Rope}. Naive (expanded) attention, whole
 * sequence at once with a causal mask.
 */
final class RefModel {
    final ModelConfig c;
    final Map<String, TinyModels.Tensor> w;
    final double[] freq;
    final double sigma;

    RefModel(ModelConfig c, Map<String, TinyModels.Tensor> w) {
        this.c = c;
        this.w = w;
        int d = c.qkRopeHeadDim();
        freq = new double[d / 2];
        for (int i = 0; i < d / 2; i++) freq[i] = Math.pow(c.ropeTheta(), -2.0 * i / d);
        double s = 1 / Math.sqrt(c.qkNopeHeadDim() + c.qkRopeHeadDim());
        var r = c.ropeScaling();
        if (r != null) {
            if (r.mscale() != r.mscaleAllDim()) throw new IllegalArgumentException("reference assumes mscale == mscale_all_dim");
            double lowD = d * Math.log(r.originalMaxPositionEmbeddings() / (r.betaFast() * 2 * Math.PI)) / (2 * Math.log(c.ropeTheta()));
            double highD = d * Math.log(r.originalMaxPositionEmbeddings() / (r.betaSlow() * 2 * Math.PI)) / (2 * Math.log(c.ropeTheta()));
            double low = Math.max(Math.floor(lowD), 0), high = Math.min(Math.ceil(highD), d - 1);
            if (low == high) high += 0.001;
            for (int i = 0; i < d / 2; i++) {
                double ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
                freq[i] = freq[i] / r.factor() * ramp + freq[i] * (1 - ramp);
            }
            double m = 0.1 * r.mscaleAllDim() * Math.log(r.factor()) + 1;
            s *= m * m;
        }
        sigma = s;
    }

    /** Hidden states after model.norm, [T][dim]. */
    double[][] hidden(int[] tokens) {
        int T = tokens.length;
        double[][] h = new double[T][];
        for (int t = 0; t < T; t++) h[t] = row("model.embed_tokens.weight", tokens[t]);
        for (int l = 0; l < c.numHiddenLayers(); l++) block(l, h);
        double[][] out = new double[T][];
        for (int t = 0; t < T; t++) out[t] = rms(h[t], "model.norm.weight");
        return out;
    }

    double[][] logits(double[][] hidden) {
        double[][] out = new double[hidden.length][];
        for (int t = 0; t < hidden.length; t++) out[t] = mv("lm_head.weight", hidden[t]);
        return out;
    }

    /** MTP depth 1: pair (hidden[i], tokens[i+1]) at position i, i = 0..T-2 (docs/architecture.md §6.1). */
    double[][] mtpLogits(int[] tokens, double[][] hidden) {
        int n = tokens.length - 1, d = c.hiddenSize(), L = c.numHiddenLayers();
        String p = "model.layers." + L + ".";
        double[][] h = new double[n][];
        for (int i = 0; i < n; i++) {
            double[] e = rms(row("model.embed_tokens.weight", tokens[i + 1]), p + "enorm.weight");
            double[] hh = rms(hidden[i], p + "hnorm.weight");
            double[] cat = new double[2 * d];
            System.arraycopy(e, 0, cat, 0, d);                 // embedding FIRST
            System.arraycopy(hh, 0, cat, d, d);
            h[i] = mv(p + "eh_proj.weight", cat);
        }
        block(L, h);
        double[][] out = new double[n][];
        for (int i = 0; i < n; i++) out[i] = mv("lm_head.weight", rms(h[i], p + "shared_head.norm.weight"));
        return out;
    }

    private void block(int l, double[][] h) {
        String p = "model.layers." + l + ".";
        int T = h.length;
        double[][] x = new double[T][];
        for (int t = 0; t < T; t++) x[t] = rms(h[t], p + "input_layernorm.weight");
        double[][] a = attention(p + "self_attn.", x);
        for (int t = 0; t < T; t++) add(h[t], a[t], 1);
        for (int t = 0; t < T; t++) {
            double[] u = rms(h[t], p + "post_attention_layernorm.weight");
            add(h[t], c.isMoeLayer(l) ? moe(p + "mlp.", u) : mlp(p + "mlp.", u), 1);
        }
    }

    private double[][] attention(String p, double[][] x) {
        int T = x.length, H = c.numAttentionHeads(), nope = c.qkNopeHeadDim(), rope = c.qkRopeHeadDim(),
                dqk = nope + rope, dv = c.vHeadDim(), kvr = c.kvLoraRank();
        double[][][] q = new double[T][H][], k = new double[T][H][], v = new double[T][H][];
        for (int t = 0; t < T; t++) {
            double[] qf = c.hasQLora()
                    ? mv(p + "q_b_proj.weight", rms(mv(p + "q_a_proj.weight", x[t]), p + "q_a_layernorm.weight"))
                    : mv(p + "q_proj.weight", x[t]);
            double[] kva = mv(p + "kv_a_proj_with_mqa.weight", x[t]);
            double[] ckv = new double[kvr], kpe = new double[rope];
            System.arraycopy(kva, 0, ckv, 0, kvr);
            System.arraycopy(kva, kvr, kpe, 0, rope);
            rotate(kpe, t);
            double[] kv = mv(p + "kv_b_proj.weight", rms(ckv, p + "kv_a_layernorm.weight"));
            for (int hh = 0; hh < H; hh++) {
                q[t][hh] = new double[dqk];
                System.arraycopy(qf, hh * dqk, q[t][hh], 0, dqk);
                double[] qpe = new double[rope];
                System.arraycopy(q[t][hh], nope, qpe, 0, rope);
                rotate(qpe, t);
                System.arraycopy(qpe, 0, q[t][hh], nope, rope);
                k[t][hh] = new double[dqk];
                System.arraycopy(kv, hh * (nope + dv), k[t][hh], 0, nope);
                System.arraycopy(kpe, 0, k[t][hh], nope, rope);
                v[t][hh] = new double[dv];
                System.arraycopy(kv, hh * (nope + dv) + nope, v[t][hh], 0, dv);
            }
        }
        double[][] out = new double[T][];
        for (int t = 0; t < T; t++) {
            double[] o = new double[H * dv];
            for (int hh = 0; hh < H; hh++) {
                double[] s = new double[t + 1];
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int j = 0; j <= t; j++) { s[j] = sigma * dot(q[t][hh], k[j][hh]); max = Math.max(max, s[j]); }
                for (int j = 0; j <= t; j++) { s[j] = Math.exp(s[j] - max); sum += s[j]; }
                for (int j = 0; j <= t; j++)
                    for (int e = 0; e < dv; e++) o[hh * dv + e] += s[j] / sum * v[j][hh][e];
            }
            out[t] = mv(p + "o_proj.weight", o);
        }
        return out;
    }

    /** Interleaved pairs (2i, 2i+1) rotated by p·f'_i (docs/architecture.md §3.5). */
    private void rotate(double[] x, int pos) {
        for (int i = 0; i < x.length / 2; i++) {
            double a = x[2 * i], b = x[2 * i + 1], ang = pos * freq[i];
            x[2 * i] = a * Math.cos(ang) - b * Math.sin(ang);
            x[2 * i + 1] = a * Math.sin(ang) + b * Math.cos(ang);
        }
    }

    private double[] moe(String p, double[] u) {
        int E = c.nRoutedExperts(), G = c.nGroup(), per = E / G, K = c.numExpertsPerTok();
        double[] logit = mv(p + "gate.weight", u);
        float[] bias = w.get(p + "gate.e_score_correction_bias").data();
        double[] s = new double[E], choice = new double[E];
        for (int i = 0; i < E; i++) { s[i] = 1 / (1 + Math.exp(-logit[i])); choice[i] = s[i] + bias[i]; }
        double[] gs = new double[G];
        for (int g = 0; g < G; g++) {
            double b1 = Double.NEGATIVE_INFINITY, b2 = Double.NEGATIVE_INFINITY;
            for (int i = g * per; i < (g + 1) * per; i++) {
                if (choice[i] > b1) { b2 = b1; b1 = choice[i]; } else if (choice[i] > b2) b2 = choice[i];
            }
            gs[g] = b1 + b2;
        }
        boolean[] keep = new boolean[G];
        for (int r = 0; r < c.topkGroup(); r++) {
            int best = -1;
            for (int g = 0; g < G; g++) if (!keep[g] && (best < 0 || gs[g] > gs[best])) best = g;
            keep[best] = true;
        }
        for (int i = 0; i < E; i++) if (!keep[i / per]) choice[i] = Double.NEGATIVE_INFINITY;
        int[] top = new int[K];
        boolean[] used = new boolean[E];
        double sum = 0;
        for (int r = 0; r < K; r++) {
            int best = -1;
            for (int i = 0; i < E; i++) if (!used[i] && (best < 0 || choice[i] > choice[best])) best = i;
            used[best] = true;
            top[r] = best;
            sum += s[best];
        }
        double[] y = c.nSharedExperts() > 0 ? mlp(p + "shared_experts.", u) : new double[u.length];
        for (int e : top) {
            double g = (c.normTopkProb() ? s[e] / sum : s[e]) * c.routedScalingFactor();
            add(y, mlp(p + "experts." + e + ".", u), g);
        }
        return y;
    }

    private double[] mlp(String p, double[] u) {
        double[] g = mv(p + "gate_proj.weight", u), up = mv(p + "up_proj.weight", u);
        for (int i = 0; i < g.length; i++) g[i] = g[i] / (1 + Math.exp(-g[i])) * up[i];
        return mv(p + "down_proj.weight", g);
    }

    private double[] rms(double[] x, String name) {
        float[] g = w.get(name).data();
        double ss = 0;
        for (double v : x) ss += v * v;
        double r = 1 / Math.sqrt(ss / x.length + c.rmsNormEps());
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = g[i] * x[i] * r;
        return y;
    }

    private double[] mv(String name, double[] x) {
        TinyModels.Tensor m = w.get(name);
        int out = (int) m.shape()[0], in = (int) m.shape()[1];
        if (in != x.length) throw new IllegalArgumentException(name + ": input " + x.length + " vs " + in);
        double[] y = new double[out];
        for (int o = 0; o < out; o++) {
            double s = 0;
            for (int i = 0; i < in; i++) s += m.data()[o * in + i] * x[i];
            y[o] = s;
        }
        return y;
    }

    private double[] row(String name, int r) {
        TinyModels.Tensor m = w.get(name);
        int in = (int) m.shape()[1];
        double[] y = new double[in];
        for (int i = 0; i < in; i++) y[i] = m.data()[r * in + i];
        return y;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    private static void add(double[] y, double[] x, double g) { for (int i = 0; i < y.length; i++) y[i] += g * x[i]; }
}
