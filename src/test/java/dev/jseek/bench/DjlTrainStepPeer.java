package dev.jseek.bench;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import dev.jseek.model.ModelConfig;
import dev.jseek.model.Rope;
import dev.jseek.train.ParamLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The PyTorch eager peer of jseek's training step for {@code jseek bench train}: DeepSeek-V3 (docs/architecture.md §3-§6) written with
 * DJL's PyTorch engine (libtorch 2.7.1 CPU, loaded offline from the pytorch-native-cpu jar), differentiated by
 * torch autograd, updated by an AdamW written with in-place tensor ops (torch.optim.AdamW's single-tensor CPU
 * path). Test scope only: tools/bench-train.sh puts it on the class path, the jseek runtime never loads DJL.
 *
 * <p>The model follows tools/make_grad_fixtures.py (the fixtures jseek's gradients are tested against), vectorized
 * over the batch the way PyTorch training code is written: F.linear for every projection, MLA naive mode with
 * interleaved-pair RoPE on q_pe and the shared k_pe, causal softmax attention as matmul + mask + softmax + matmul
 * (eager, like the official model.py and HF's eager attention); MoE routing on s + bias with the group limit, no
 * gradient through the selection, gates from the original scores; dispatch as in HF DeepSeek-V3's moe_infer
 * (argsort of the expert ids, one F.linear chain per expert over its token slice, unpermute, weighted sum), shared
 * experts dense; sequence-wise balance loss; MTP depths with the shared embedding and head; mean cross-entropy.
 * Targets must be >= 0 (the bench never ignores positions).
 */
public final class DjlTrainStepPeer implements TrainStepPeer {
    private ModelConfig c;
    private Hyper h;
    private int B, T, dim, H, nope, rd, vd, qk, kvr, E, K, I, vocab;
    private float eps, scale;
    private NDManager root;
    private final Map<String, NDArray> w = new HashMap<>();
    private final List<NDArray> trainable = new ArrayList<>();
    private final List<Boolean> isMatrix = new ArrayList<>();
    private final List<NDArray> m1 = new ArrayList<>(), m2 = new ArrayList<>();
    private final List<NDArray> consts = new ArrayList<>();
    private NDArray cos, sin;              // [T, rd/2]
    private final Map<Integer, NDArray> masks = new HashMap<>();
    private int adamStep;

    /** Loads libtorch (offline, from the pytorch-native-cpu jar) with the given intra-op threads. */
    private static Engine engine(int threads) {
        System.setProperty("ai.djl.offline", "true");
        System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        Engine engine = Engine.getEngine("PyTorch");
        JniUtils.setNumThreads(threads);
        if (JniUtils.getNumThreads() != threads)
            throw new IllegalStateException("PyTorch runs " + JniUtils.getNumThreads() + " threads, asked for " + threads);
        return engine;
    }

    @Override public String name() {
        return "PyTorch " + engine(Integer.getInteger("jseek.threads", Runtime.getRuntime().availableProcessors())).getVersion()
                + " eager (libtorch CPU via DJL " + Engine.getDjlVersion() + ")";
    }

    @Override public void setup(ModelConfig c, ParamLayout layout, float[] params, int B, int T, Hyper h, int threads) {
        close();
        engine(threads);
        this.c = c; this.h = h; this.B = B; this.T = T;
        dim = c.hiddenSize(); H = c.numAttentionHeads(); nope = c.qkNopeHeadDim(); rd = c.qkRopeHeadDim();
        vd = c.vHeadDim(); qk = c.qkHeadDim(); kvr = c.kvLoraRank(); E = c.nRoutedExperts(); K = c.numExpertsPerTok();
        I = c.moeIntermediateSize(); vocab = c.vocabSize();
        eps = (float) c.rmsNormEps(); scale = (float) c.softmaxScale();
        root = NDManager.newBaseManager(Device.cpu());
        for (ParamLayout.Entry e : layout.entries()) {
            long[] shape = Arrays.stream(e.shape()).asLongStream().toArray();
            NDArray x = root.create(Arrays.copyOfRange(params, e.offset(), e.offset() + e.size()), new Shape(shape));
            if (e.trainable()) {
                x.setRequiresGradient(true);
                trainable.add(x);
                isMatrix.add(shape.length >= 2);
                m1.add(root.zeros(new Shape(shape)));
                m2.add(root.zeros(new Shape(shape)));
            }
            w.put(e.name(), x);
        }
        float[] cs = new float[T * (rd / 2)], sn = new float[T * (rd / 2)];
        new Rope(c).table(0, T, cs, sn);
        cos = root.create(cs, new Shape(T, rd / 2));
        sin = root.create(sn, new Shape(T, rd / 2));
        consts.add(cos);
        consts.add(sin);
        for (int t = T - c.numNextnPredictLayers(); t <= T; t++) {
            float[] mk = new float[t * t];
            for (int i = 0; i < t; i++) for (int j = i + 1; j < t; j++) mk[i * t + j] = Float.NEGATIVE_INFINITY;
            NDArray a = root.create(mk, new Shape(t, t));
            masks.put(t, a);
            consts.add(a);
        }
        adamStep = 0;
    }

    private NDManager stepManager() {
        NDManager sub = root.newSubManager();
        sub.tempAttachAll(w.values().toArray(new NDArray[0]));
        sub.tempAttachAll(m1.toArray(new NDArray[0]));
        sub.tempAttachAll(m2.toArray(new NDArray[0]));
        sub.tempAttachAll(consts.toArray(new NDArray[0]));
        return sub;
    }

    @Override public double[] lossAndGradNorm(int[] tokens, int[] targets) {
        try (NDManager sub = stepManager()) {
            zeroGrads();
            double loss = forwardBackward(sub, tokens, targets);
            double ss = 0;
            for (NDArray p : trainable) {
                NDArray g = p.getGradient();
                ss += g.square().sum().getFloat();
            }
            zeroGrads();
            return new double[] {loss, Math.sqrt(ss)};
        }
    }

    @Override public double step(int[] tokens, int[] targets, float lr) {
        try (NDManager sub = stepManager()) {
            zeroGrads();
            double loss = forwardBackward(sub, tokens, targets);
            adamW(lr);
            return loss;
        }
    }

    private void zeroGrads() {
        for (NDArray p : trainable) if (p.hasGradient()) JniUtils.zeroGrad((PtNDArray) p);
    }

    /** torch.optim.AdamW, single-tensor path: decoupled decay on matrices, bias-corrected moments. */
    private void adamW(float lr) {
        adamStep++;
        double bc1 = 1 - Math.pow(h.beta1(), adamStep), bc2 = 1 - Math.pow(h.beta2(), adamStep);
        float stepSize = (float) (lr / bc1), invSqrtBc2 = (float) (1 / Math.sqrt(bc2));
        for (int i = 0; i < trainable.size(); i++) {
            NDArray p = trainable.get(i), g = p.getGradient(), m = m1.get(i), v = m2.get(i);
            if (isMatrix.get(i)) p.muli(1f - lr * h.weightDecay());
            m.muli(h.beta1()).addi(g.mul(1f - h.beta1()));
            v.muli(h.beta2()).addi(g.square().muli(1f - h.beta2()));
            NDArray denom = v.sqrt().muli(invSqrtBc2).addi(h.eps());
            p.subi(m.div(denom).muli(stepSize));
        }
    }

    private double forwardBackward(NDManager sub, int[] tokens, int[] targets) {
        NDArray tok = sub.create(toLong(tokens), new Shape(B, T));
        NDArray tgt = sub.create(toLong(targets), new Shape(B, T));
        try (GradientCollector gc = Engine.getEngine("PyTorch").newGradientCollector()) {
            NDArray loss = loss(tok, tgt);
            double v = loss.getFloat();
            gc.backward(loss);
            return v;
        }
    }

    private static long[] toLong(int[] x) {
        long[] r = new long[x.length];
        for (int i = 0; i < x.length; i++) {
            if (x[i] < 0) throw new IllegalArgumentException("the PyTorch peer needs every target >= 0, got " + x[i] + " at " + i);
            r[i] = x[i];
        }
        return r;
    }

    // ---- the model ----

    private NDArray loss(NDArray tok, NDArray tgt) {
        int L = c.numHiddenLayers(), D = c.numNextnPredictLayers();
        NDArray emb = w.get("model.embed_tokens.weight"), head = w.get("lm_head.weight");
        NDArray bal = null;
        NDArray x = Embedding.embedding(tok, emb, SparseFormat.DENSE).head();          // [B, T, dim]
        NDArray[] balOut = new NDArray[1];
        for (int l = 0; l < L; l++) {
            x = block(l, x, T, balOut);
            if (balOut[0] != null) bal = bal == null ? balOut[0] : bal.add(balOut[0]);
        }
        NDArray hn = rms(x, w.get("model.norm.weight"));
        NDArray loss = ce(linear(hn, head), tgt);
        NDArray prev = hn, mtpSum = null;
        for (int k = 1; k <= D; k++) {
            String p = "model.layers." + (L + k - 1) + ".";
            int Tk = T - k;
            NDArray e = rms(Embedding.embedding(tok.get(":, " + k + ":"), emb, SparseFormat.DENSE).head(), w.get(p + "enorm.weight"));
            NDArray hh = rms(prev.get(":, :" + Tk), w.get(p + "hnorm.weight"));
            NDArray xk = linear(NDArrays.concat(new NDList(e, hh), -1), w.get(p + "eh_proj.weight"));
            xk = block(L + k - 1, xk, Tk, balOut);
            if (balOut[0] != null) bal = bal == null ? balOut[0] : bal.add(balOut[0]);
            NDArray ck = ce(linear(rms(xk, w.get(p + "shared_head.norm.weight")), head), tgt.get(":, " + k + ":"));
            mtpSum = mtpSum == null ? ck : mtpSum.add(ck);
            prev = xk;
        }
        if (mtpSum != null) loss = loss.add(mtpSum.mul(h.mtpLambda() / D));
        if (bal != null) loss = loss.add(bal);
        return loss;
    }

    /** Mean cross-entropy of logits [B, t, V] against targets [B, t] (F.cross_entropy = log_softmax + nll). */
    private NDArray ce(NDArray logits, NDArray tgt) {
        NDArray lp = logits.logSoftmax(-1);
        return lp.gather(tgt.expandDims(-1), -1).mean().neg();
    }

    private static NDArray linear(NDArray x, NDArray wt) { return Linear.linear(x, wt).head(); }

    private NDArray rms(NDArray x, NDArray wt) {
        NDArray r = x.square().mean(new int[] {-1}, true).add(eps).pow(-0.5);
        return x.mul(r).mul(wt);
    }

    private static NDArray silu(NDArray x) { return x.mul(Activation.sigmoid(x)); }

    private NDArray swiglu(String p, NDArray x) {
        NDArray g = linear(x, w.get(p + "gate_proj.weight")), u = linear(x, w.get(p + "up_proj.weight"));
        return linear(silu(g).mul(u), w.get(p + "down_proj.weight"));
    }

    /** Pre-norm block on x [B, t, dim]; balOut[0] = this block's balance loss (null for dense blocks). */
    private NDArray block(int layer, NDArray x, int t, NDArray[] balOut) {
        String p = "model.layers." + layer + ".";
        x = x.add(mla(p + "self_attn.", rms(x, w.get(p + "input_layernorm.weight")), t));
        NDArray u = rms(x, w.get(p + "post_attention_layernorm.weight"));
        balOut[0] = null;
        if (!c.isMoeLayer(layer)) return x.add(swiglu(p + "mlp.", u));
        return x.add(moe(p + "mlp.", u, t, balOut));
    }

    /** Interleaved-pair RoPE (docs/architecture.md §3.5) of x [B, t, heads, rd] at positions 0..t-1. */
    private NDArray rope(NDArray x, int t) {
        Shape s = x.getShape();
        NDArray xp = x.reshape(s.get(0), s.get(1), s.get(2), rd / 2, 2);
        NDArray x0 = xp.get("..., 0"), x1 = xp.get("..., 1");
        NDArray cs = cos.get(":" + t).reshape(1, t, 1, rd / 2), sn = sin.get(":" + t).reshape(1, t, 1, rd / 2);
        NDArray y0 = x0.mul(cs).sub(x1.mul(sn)), y1 = x0.mul(sn).add(x1.mul(cs));
        return NDArrays.stack(new NDList(y0, y1), -1).reshape(s);
    }

    private NDArray mla(String p, NDArray x, int t) {
        NDArray q;
        if (c.hasQLora()) q = linear(rms(linear(x, w.get(p + "q_a_proj.weight")), w.get(p + "q_a_layernorm.weight")), w.get(p + "q_b_proj.weight"));
        else q = linear(x, w.get(p + "q_proj.weight"));
        q = q.reshape(B, t, H, qk);
        NDArray qn = q.get("..., :" + nope), qp = rope(q.get("..., " + nope + ":"), t);
        NDArray a = linear(x, w.get(p + "kv_a_proj_with_mqa.weight"));              // [B, t, kvr + rd]
        NDArray kp = rope(a.get("..., " + kvr + ":").reshape(B, t, 1, rd), t);
        NDArray kv = linear(rms(a.get("..., :" + kvr), w.get(p + "kv_a_layernorm.weight")), w.get(p + "kv_b_proj.weight"))
                .reshape(B, t, H, nope + vd);
        NDArray kn = kv.get("..., :" + nope), v = kv.get("..., " + nope + ":");
        NDArray qh = NDArrays.concat(new NDList(qn, qp), -1).transpose(0, 2, 1, 3);               // [B, H, t, qk]
        NDArray kh = NDArrays.concat(new NDList(kn, kp.broadcast(B, t, H, rd)), -1).transpose(0, 2, 3, 1); // [B, H, qk, t]
        NDArray sc = qh.matMul(kh).mul(scale).add(masks.get(t));
        NDArray o = sc.softmax(-1).matMul(v.transpose(0, 2, 1, 3));                               // [B, H, t, vd]
        return linear(o.transpose(0, 2, 1, 3).reshape(B, t, H * vd), w.get(p + "o_proj.weight"));
    }

    private NDArray moe(String p, NDArray u, int t, NDArray[] balOut) {
        int N = B * t, G = c.nGroup(), KG = c.topkGroup();
        NDArray x = u.reshape(N, dim);
        NDArray s = Activation.sigmoid(linear(x, w.get(p + "gate.weight")));                          // [N, E]
        NDArray idx;
        NDManager mgr = x.getManager();
        {
            NDArray cs = s.stopGradient().add(w.get(p + "gate.e_score_correction_bias"));
            if (G > 1) {
                NDArray gs = cs.reshape(N, G, E / G).topK(Math.min(2, E / G), -1, true, false).get(0).sum(new int[] {-1});
                NDArray keep = gs.topK(KG, -1, true, false).get(1);
                NDArray gmask = mgr.zeros(new Shape(N, G)).scatter(keep, mgr.ones(new Shape(N, KG)), 1);  // 1 = kept
                NDArray emask = gmask.expandDims(-1).broadcast(N, G, E / G).reshape(N, E);
                cs = NDArrays.where(emask.gt(0.5f), cs, mgr.full(new Shape(N, E), Float.NEGATIVE_INFINITY));
            }
            idx = cs.topK(K, -1, true, false).get(1);                                          // [N, K] int64
        }
        NDArray sel = s.gather(idx, 1);
        NDArray gw = c.normTopkProb() ? sel.div(sel.sum(new int[] {-1}, true).add(1e-20f)) : sel;
        gw = gw.mul((float) c.routedScalingFactor());
        // dispatch (HF DeepSeek-V3 moe_infer): sort (token, slot) by expert, one FFN per expert slice, unpermute
        NDArray flat = idx.reshape(N * K);
        NDArray order = flat.argSort(0, true);
        long[] ids = flat.toLongArray();
        int[] count = new int[E];
        for (long e : ids) count[(int) e]++;
        long[] tokOf = order.toLongArray();
        for (int i = 0; i < tokOf.length; i++) tokOf[i] /= K;
        NDArray sorted = x.get(mgr.create(tokOf));
        NDList outs = new NDList();
        int r0 = 0;
        for (int e = 0; e < E; e++) {
            if (count[e] == 0) continue;
            NDArray xe = sorted.get(r0 + ":" + (r0 + count[e]));
            outs.add(swiglu(p + "experts." + e + ".", xe));
            r0 += count[e];
        }
        NDArray ys = outs.size() == 1 ? outs.head() : NDArrays.concat(outs, 0);
        NDArray y = ys.get(order.argSort(0, true)).reshape(N, K, dim).mul(gw.expandDims(-1)).sum(new int[] {1});
        if (c.nSharedExperts() > 0) y = y.add(swiglu(p + "shared_experts.", x));
        if (h.balanceAlpha() > 0) {
            int seqs = h.seqWiseBalance() ? B : 1, len = h.seqWiseBalance() ? t : N;
            NDArray f = idx.oneHot(E).sum(new int[] {1}).reshape(seqs, len, E).sum(new int[] {1}).toType(DataType.FLOAT32, false)
                    .mul((float) E / ((float) K * len));
            NDArray P = s.div(s.sum(new int[] {-1}, true)).reshape(seqs, len, E).mean(new int[] {1});
            balOut[0] = f.mul(P).sum().mul(h.balanceAlpha() / seqs);
        }
        return y.reshape(B, t, dim);
    }

    @Override public void close() {
        if (root != null) root.close();
        root = null;
        w.clear(); trainable.clear(); isMatrix.clear(); m1.clear(); m2.clear(); consts.clear(); masks.clear();
    }
}
