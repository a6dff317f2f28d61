package dev.jseek.train;

import java.util.Arrays;

/**
 * One parameter tensor of a {@link Trainable}'s flat FP32 arena: its Hugging Face name (docs/architecture.md §2.2), its element
 * offset in {@link Trainable#params()} / {@link Trainable#grads()}, its shape (HF order, [out, in] for Linear
 * weights), whether the optimizer updates it ({@code trainable}; false for the aux-loss-free routing bias
 * {@code mlp.gate.e_score_correction_bias}, docs/architecture.md §5.3) and whether AdamW applies weight decay to it ({@code decay};
 * docs/architecture.md §7.1: matrices yes, RMSNorm weights and biases no).
 */
public record TrainTensor(String name, int offset, int[] shape, boolean trainable, boolean decay) {
    public TrainTensor {
        if (name == null || name.isEmpty()) throw new IllegalArgumentException("tensor name is empty");
        if (offset < 0) throw new IllegalArgumentException("tensor " + name + " has negative offset " + offset);
        shape = shape.clone();
        long n = 1;
        for (int d : shape) {
            if (d <= 0) throw new IllegalArgumentException("tensor " + name + " has non-positive dimension in " + Arrays.toString(shape));
            n *= d;
        }
        if (offset + n > Integer.MAX_VALUE) throw new IllegalArgumentException("tensor " + name + " ends beyond 2^31 elements");
        if (decay && !trainable) throw new IllegalArgumentException("tensor " + name + " is not trainable but has weight decay");
    }

    /**
     * The default rule of docs/architecture.md §7.1: trainable tensors of rank >= 2 (Linear weights, embeddings) get weight decay;
     * rank-1 tensors (RMSNorm weights, biases) do not; non-trainable tensors get neither gradient nor decay.
     */
    public static TrainTensor of(String name, int offset, int[] shape, boolean trainable) {
        return new TrainTensor(name, offset, shape, trainable, trainable && shape.length >= 2);
    }

    /** The tensors of a model's {@link ParamLayout} (no aliases), in layout order, with the default rule of {@link #of}. */
    public static java.util.List<TrainTensor> fromLayout(ParamLayout pl) {
        java.util.List<TrainTensor> t = new java.util.ArrayList<>();
        for (ParamLayout.Entry e : pl.entries()) t.add(of(e.name(), e.offset(), e.shape(), e.trainable()));
        return java.util.List.copyOf(t);
    }

    @Override public int[] shape() { return shape.clone(); }

    /** Number of elements. */
    public int size() {
        int n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    /** Shape as longs (safetensors). */
    public long[] longShape() {
        long[] s = new long[shape.length];
        for (int i = 0; i < s.length; i++) s[i] = shape[i];
        return s;
    }

    @Override public boolean equals(Object o) {
        return o instanceof TrainTensor t && t.name.equals(name) && t.offset == offset && Arrays.equals(t.shape, shape)
                && t.trainable == trainable && t.decay == decay;
    }

    @Override public int hashCode() { return name.hashCode() * 31 + Arrays.hashCode(shape) + offset; }

    @Override public String toString() {
        return name + Arrays.toString(shape) + "@" + offset + (trainable ? "" : " frozen") + (decay ? " decay" : "");
    }
}
