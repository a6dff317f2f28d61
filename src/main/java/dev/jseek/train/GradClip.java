package dev.jseek.train;

import java.util.List;

/**
 * Global-norm gradient clipping (docs/architecture.md §7.1: max norm 1.0): the L2 norm over the gradients of all trainable tensors
 * (accumulated in double), and the coefficient {@code min(1, maxNorm / (norm + 1e-6))} (as PyTorch's
 * {@code clip_grad_norm_}) by which the gradients are scaled. {@link Trainer} passes the coefficient to
 * {@link AdamW#step(float[], float[], double, double)} instead of rescaling the gradient arena; {@link #clip}
 * rescales in place (benchmarks, tests).
 */
public final class GradClip {
    private GradClip() {}

    /** The global L2 norm of {@code grads} over the trainable {@code tensors}; NaN/Inf if any gradient is. */
    public static double globalNorm(float[] grads, List<TrainTensor> tensors) {
        double s = 0;
        for (TrainTensor t : tensors) {
            if (!t.trainable()) continue;
            int from = t.offset(), to = from + t.size();
            double part = 0;
            for (int i = from; i < to; i++) {
                double g = grads[i];
                part += g * g;
            }
            s += part;
        }
        return Math.sqrt(s);
    }

    /** The scale for the gradients: 1 when {@code maxNorm <= 0} (no clipping) or the norm is within it. */
    public static double coefficient(double norm, double maxNorm) {
        if (!(maxNorm > 0)) return 1;
        double c = maxNorm / (norm + 1e-6);
        return Math.min(1, c);
    }

    /** Scales the trainable gradients in place so their norm is at most {@code maxNorm}; returns the norm before. */
    public static double clip(float[] grads, List<TrainTensor> tensors, double maxNorm) {
        double norm = globalNorm(grads, tensors);
        double c = coefficient(norm, maxNorm);
        if (c < 1) {
            float cf = (float) c;
            for (TrainTensor t : tensors) {
                if (!t.trainable()) continue;
                for (int i = t.offset(), to = t.offset() + t.size(); i < to; i++) grads[i] *= cf;
            }
        }
        return norm;
    }
}
