package dev.jseek.train;

import dev.jseek.model.ModelConfig;
import dev.jseek.model.TensorSchema;
import dev.jseek.train.ref.Ref;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** MLA (report §2.1.1) forward vs the double twin, and FD checks of dx and every weight; also the bare attention core. */
class MlaGradTest {

    private void run(ModelConfig c, int B, int T, long seed) {
        String pre = "model.layers.0.self_attn.";
        int N = B * T, dim = c.hiddenSize();
        ParamLayout pl = ParamLayout.partial(new TensorSchema(c));
        ActLayout al = new ActLayout();
        int x = al.alloc("x", (long) N * dim), y = al.alloc("y", (long) N * dim);
        Mla m = new Mla(c, pre, pl, al, N, new Rotary(c, T));
        Arenas s = new Arenas(pl, al);
        Harness.randomParams(pl, s.params, seed);
        SplittableRandom rnd = new SplittableRandom(seed + 1);
        Fd.fillGaussian(s.acts, x, N * dim, 1, rnd);
        float[] r = new float[N * dim];
        Fd.fillGaussian(r, 0, r.length, 1, rnd);
        m.forward(s, x, y, B, T);
        System.arraycopy(r, 0, s.dacts, y, r.length);
        m.backwardInput(s, x, y, B, T);
        m.backwardWeights(s, x, y, B, T);

        double[] pd = Fd.toDouble(s.params), xd = new double[N * dim];
        for (int i = 0; i < xd.length; i++) xd[i] = s.acts[x + i];
        Ref ref = new Ref(c, pl, pd);
        Harness.assertForward("mla", s.acts, y, ref.mla(Fd.rows(xd, 0, N, dim), B, T, pre), 1e-5);
        java.util.function.DoubleSupplier L = () -> Fd.dot(ref.mla(Fd.rows(xd, 0, N, dim), B, T, pre), r, 0);
        Fd.check("mla dx", s.dacts, x, xd, 0, xd.length, L, 200, 3);
        Harness.checkParams("mla", pl, s.grads, pd, L, 200);
    }

    @Test
    void qLoraWithYarn() { run(Harness.tinyMoe(), 2, 5, 11); }

    @Test
    void qProjWithAttentionFactor() {
        // q_lora_rank null (q_proj), mscale != mscale_all_dim so cos/sin carry an attention factor != 1
        ModelConfig.RopeScaling y = new ModelConfig.RopeScaling("yarn", 8, 16, 32, 1, 0.8, 1.0);
        run(Harness.tiny(1, 0, 0, 4, 2, true, 1, y, 0), 2, 4, 12);
    }

    @Test
    void plainRope() { run(Harness.tiny(1, 0, 12, 4, 2, true, 1, null, 0), 1, 6, 13); }

    @Test
    void attentionCore() {
        int B = 2, T = 4, H = 2, dqk = 5, dv = 3, vRow = H * 7, vHead = 7;
        float scale = 0.6f;
        int N = B * T;
        ActLayout al = new ActLayout();
        int q = al.alloc("q", (long) N * H * dqk), k = al.alloc("k", (long) N * H * dqk), v = al.alloc("v", (long) N * vRow);
        int o = al.alloc("o", (long) N * H * dv), lse = al.alloc("lse", (long) N * H);
        float[] a = new float[al.size()], d = new float[al.size()];
        SplittableRandom rnd = new SplittableRandom(5);
        Fd.fillGaussian(a, 0, o, 1, rnd);
        float[] r = new float[N * H * dv];
        Fd.fillGaussian(r, 0, r.length, 1, rnd);
        CausalAttention.forward(a, q, k, v + 2, vRow, vHead, o, lse, B, T, H, dqk, dv, scale);
        System.arraycopy(r, 0, d, o, r.length);
        CausalAttention.backward(a, d, q, k, v + 2, vRow, vHead, o, lse, B, T, H, dqk, dv, scale);
        double[] ad = Fd.toDouble(a);
        java.util.function.DoubleSupplier L = () -> {
            double sum = 0;
            for (int b = 0; b < B; b++)
                for (int h = 0; h < H; h++)
                    for (int t = 0; t < T; t++) {
                        double[] p = new double[t + 1];
                        double z = 0;
                        for (int s = 0; s <= t; s++) {
                            double dot = 0;
                            for (int i = 0; i < dqk; i++) dot += ad[q + ((b * T + t) * H + h) * dqk + i] * ad[k + ((b * T + s) * H + h) * dqk + i];
                            p[s] = Math.exp(scale * dot);
                            z += p[s];
                        }
                        for (int i = 0; i < dv; i++) {
                            double oi = 0;
                            for (int s = 0; s <= t; s++) oi += p[s] / z * ad[v + 2 + (b * T + s) * vRow + h * vHead + i];
                            sum += oi * r[((b * T + t) * H + h) * dv + i];
                        }
                    }
            return sum;
        };
        Fd.check("attention dq", d, q, ad, q, N * H * dqk, L, 1000, 1);
        Fd.check("attention dk", d, k, ad, k, N * H * dqk, L, 1000, 1);
        Fd.check("attention dv", d, v, ad, v, N * vRow, L, 1000, 1); // includes the untouched columns (grad 0)
    }
}
