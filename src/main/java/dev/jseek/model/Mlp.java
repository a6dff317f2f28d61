package dev.jseek.model;

import dev.jseek.kernels.Gemm;
import dev.jseek.kernels.Ops;
import dev.jseek.model.StepProfile.Phase;
import dev.jseek.model.Workspace.Buf;
import dev.jseek.tensor.Matrix;

/**
 * SwiGLU feed-forward FFN(u) = W_down (SiLU(W_gate u) ⊙ W_up u) (docs/architecture.md §5.1): the dense FFN of the first layers, each
 * routed expert and the shared expert. gate/up are [inter, dim], down is [dim, inter]; no biases.
 */
public record Mlp(Matrix gateProj, Matrix upProj, Matrix downProj) implements FeedForward {
    /** Loads the three projections of the {@link TensorSchema}. */
    public static Mlp load(WeightSource w, TensorSchema.Tensor gate, TensorSchema.Tensor up, TensorSchema.Tensor down) {
        return new Mlp(w.matrix(gate), w.matrix(up), w.matrix(down));
    }

    public int inter() { return gateProj.rows(); }

    @Override public void forward(float[] x, int m, float[] out, Workspace ws) {
        int inter = inter();
        float[] g = ws.f(Buf.MLP_GATE, m * inter), u = ws.f(Buf.MLP_UP, m * inter);
        long t0 = StepProfile.start();
        Gemm.linear(g, 0, x, 0, m, gateProj, false);
        Gemm.linear(u, 0, x, 0, m, upProj, false);
        StepProfile.stop(Phase.DENSE_FFN, t0);
        t0 = StepProfile.start();
        Ops.swiglu(g, 0, g, 0, u, 0, m * inter);
        StepProfile.stop(Phase.SWIGLU, t0);
        t0 = StepProfile.start();
        Gemm.linear(out, 0, g, 0, m, downProj, false);
        StepProfile.stop(Phase.DENSE_FFN, t0);
    }
}
