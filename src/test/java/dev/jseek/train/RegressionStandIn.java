package dev.jseek.train;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * A tiny trainable stand-in for the Trainer tests: linear regression y = W x + b (W [2, 4] with weight decay, b [2]
 * without), trained on MSE, with input dropout drawn from the trainer's {@link TrainRng} (so the RNG state matters),
 * and a frozen "routing bias" [3] updated by the aux-loss-free rule from per-sample "expert" choices
 * argmax_k (x_k + bias_k) (so bias update, expert load and MaxVio flow through the loop). The data source generates
 * (x, y) from a counter (its state) with y = W* x + b* + noise; {@code nanAtBatch} injects a NaN target.
 */
final class RegressionStandIn {
    static final int IN = 4, OUT = 2, E = 3;
    static final String W = "model.layers.0.mlp.experts.0.down_proj.weight", B = "model.norm.weight",
            BIAS = "model.layers.0.mlp.gate.e_score_correction_bias";

    record Batch(int rows, float[] x, float[] y) {}

    static class Model implements Trainable<Batch> {
        final float[] params = new float[IN * OUT + OUT + E], grads = new float[params.length];
        final List<TrainTensor> tensors = List.of(TrainTensor.of(W, 0, new int[] {OUT, IN}, true),
                TrainTensor.of(B, IN * OUT, new int[] {OUT}, true), TrainTensor.of(BIAS, IN * OUT + OUT, new int[] {E}, false));
        final long[] load = new long[E];
        final java.util.List<Float> lambdas = new java.util.ArrayList<>();
        float lambda;

        Model(long seed) {
            TrainRng r = new TrainRng(seed);
            for (int i = 0; i < IN * OUT + OUT; i++) params[i] = (float) (r.nextGaussian() * 0.1);
        }

        @Override public float[] params() { return params; }
        @Override public float[] grads() { return grads; }
        @Override public List<TrainTensor> tensors() { return tensors; }
        @Override public java.util.Map<String, String> aliases() { return java.util.Map.of("lm_head.weight", W); }
        @Override public void zeroGrad() { java.util.Arrays.fill(grads, 0f); }
        @Override public void setMtpLambda(float l) { lambda = l; lambdas.add(l); }
        @Override public List<Integer> moeLayerIds() { return List.of(0); }
        @Override public long[][] expertLoad() { return new long[][] {load.clone()}; }
        @Override public void resetExpertLoad() { java.util.Arrays.fill(load, 0); }

        @Override public void updateBias(float gamma) {
            long sum = 0;
            for (long v : load) sum += v;
            double mean = (double) sum / E;
            for (int k = 0; k < E; k++) params[IN * OUT + OUT + k] += gamma * (float) Math.signum(mean - load[k]);
            resetExpertLoad();
        }

        @Override public StepLosses forwardBackward(Batch b, float gradScale, TrainRng rng) {
            double loss = 0;
            float[] xd = new float[IN];
            int bo = IN * OUT, bi = IN * OUT + OUT;
            for (int r = 0; r < b.rows; r++) {
                int best = 0;
                for (int k = 0; k < E; k++) if (b.x[r * IN + k] + params[bi + k] > b.x[r * IN + best] + params[bi + best]) best = k;
                load[best]++;
                for (int i = 0; i < IN; i++) xd[i] = rng.nextFloat() < 0.1f ? 0f : b.x[r * IN + i] / 0.9f;
                for (int o = 0; o < OUT; o++) {
                    double pred = params[bo + o];
                    for (int i = 0; i < IN; i++) pred += params[o * IN + i] * xd[i];
                    double err = pred - b.y[r * OUT + o];
                    loss += err * err;
                    float d = (float) (2 * err / (b.rows * OUT)) * gradScale;
                    grads[bo + o] += d;
                    for (int i = 0; i < IN; i++) grads[o * IN + i] += d * xd[i];
                }
            }
            return StepLosses.of(loss / (b.rows * OUT));
        }
    }

    static final class Source implements BatchSource<Batch> {
        final int rows;
        long counter;
        long nanAtBatch = -1;

        Source(int rows) { this.rows = rows; }

        @Override public Batch next() {
            TrainRng r = new TrainRng(counter * 0x9E3779B97F4A7C15L + 17);
            float[] x = new float[rows * IN], y = new float[rows * OUT];
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
            for (int s = 0; s < rows; s++)
                for (int o = 0; o < OUT; o++) {
                    double v = 0.3 * o - 0.2;
                    for (int i = 0; i < IN; i++) v += (i + 1 - 2 * o) * 0.25 * x[s * IN + i];
                    y[s * OUT + o] = (float) (v + 0.01 * r.nextGaussian());
                }
            if (counter == nanAtBatch) y[0] = Float.NaN;
            counter++;
            return new Batch(rows, x, y);
        }

        @Override public int microBatchRows() { return rows; }
        @Override public long tokens(Batch b) { return b.rows * 8L; } // pretend 8 tokens per sequence
        @Override public byte[] saveState() { return ByteBuffer.allocate(8).putLong(counter).array(); }
        @Override public void restoreState(byte[] s) { counter = ByteBuffer.wrap(s).getLong(); }
    }
}
