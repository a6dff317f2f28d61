package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.model.ModelConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Validation loss and bits per byte against hand computations, and evaluation leaving training untouched. */
class ValidationTest {
    static final int T = TrainModelLoopTest.T;

    static List<TokenBatch> batches(int vocab, int... rows) {
        List<TokenBatch> out = new ArrayList<>();
        TrainRng r = new TrainRng(99);
        for (int n : rows) {
            int[] w = new int[n * (T + 1)];
            for (int i = 0; i < w.length; i++) w[i] = r.nextInt(vocab);
            out.add(TokenBatch.fromWindows(n, T, w));
        }
        return out;
    }

    /** All weights zero (the model's default init): every logit is 0, so CE = ln(vocab) exactly; bpb = log2(vocab) / bytes per token. */
    @Test
    void zeroModelGivesLnVocabAndLog2VocabOverBytesPerToken() {
        ModelConfig c = Harness.tinyMoe();
        TrainModelTrainable m = new TrainModelTrainable(new TrainModel(c, 2, T));
        Validation<TokenBatch> v = new Validation<>(batches(c.vocabSize(), 2, 1), TokenBatch::tokens, 1.25);
        Validation.Result r = v.evaluate(m);
        assertEquals(Math.log(c.vocabSize()), r.loss(), 1e-12);
        double bitsPerToken = Math.log(c.vocabSize()) / Math.log(2); // log2(vocab)
        assertEquals(bitsPerToken / 1.25, r.bitsPerByte(), 1e-12);
        assertEquals(3L * T, r.tokens());
        Validation<TokenBatch> unknown = new Validation<>(batches(c.vocabSize(), 1), TokenBatch::tokens, Double.NaN);
        assertTrue(Double.isNaN(unknown.evaluate(m).bitsPerByte()));
        assertEquals(Math.log(c.vocabSize()), unknown.evaluate(m).loss(), 1e-12);
    }

    /** Random weights: the token-weighted mean over batches of different sizes of a CE computed here in double from the logits. */
    @Test
    void randomModelMatchesTokenWeightedCrossEntropyOfTheLogits() {
        ModelConfig c = Harness.tinyMoe();
        TrainModel model = new TrainModel(c, 2, T);
        model.initRandom(3, 0.3f);
        List<TokenBatch> bs = batches(c.vocabSize(), 2, 2, 1);
        double nats = 0;
        long n = 0;
        for (TokenBatch b : bs) {
            float[] logits = model.forwardLogits(b.inputs(), b.rows(), T);
            model.resetExpertLoad();
            int V = c.vocabSize();
            for (int i = 0; i < b.rows() * T; i++) {
                double max = Double.NEGATIVE_INFINITY, z = 0;
                for (int k = 0; k < V; k++) max = Math.max(max, logits[i * V + k]);
                for (int k = 0; k < V; k++) z += Math.exp(logits[i * V + k] - max);
                nats += Math.log(z) + max - logits[i * V + b.targets()[i]];
                n++;
            }
        }
        double want = nats / n;
        TrainModelTrainable m = new TrainModelTrainable(model);
        float[] before = m.params().clone();
        Validation.Result r = new Validation<>(bs, TokenBatch::tokens, 2.0).evaluate(m);
        // the model's CE subtracts the row max in FP32 (logit - max rounded to float): agreement to ~1e-8 relative
        assertEquals(want, r.loss(), 1e-7 * want);
        assertEquals(r.loss() / (2.0 * Math.log(2)), r.bitsPerByte(), 1e-12);
        assertArrayEquals(before, m.params(), "evaluation does not change parameters");
        for (long[] l : m.expertLoad()) assertEquals(0, Arrays.stream(l).sum(), "evaluation leaves no expert load behind");
        // evaluating in the middle of a step (loads pending) is refused
        model.forward(bs.get(0).inputs(), bs.get(0).targets(), 2, T);
        assertThrows(IllegalStateException.class, () -> m.evalLoss(bs.get(1)));
    }

    /** A run that evaluates every step trains exactly as one that never evaluates; metrics carry val_loss on eval steps. */
    @Test
    void evaluationDoesNotPerturbTraining() {
        ModelConfig c = Harness.tinyMoe();
        List<StepMetrics> la = new ArrayList<>(), lb = new ArrayList<>();
        float[] pa, pb;
        TrainerConfig.Builder base = TrainerConfig.builder(LrSchedule.constant(3e-3)).gamma(LrSchedule.constant(0.01)).seed(5)
                .warn(w -> { throw new AssertionError(w); });
        TrainModelTrainable ma = TrainModelLoopTest.model(1), mb = TrainModelLoopTest.model(1);
        try (Trainer<TokenBatch> t = new Trainer<>(ma, new TrainModelLoopTest.PatternSource(c.vocabSize()), base.evalEvery(2).build())) {
            t.setValidation(new Validation<>(batches(c.vocabSize(), 2, 1), TokenBatch::tokens, 1.0));
            t.addListener(la::add);
            t.train(5);
            pa = ma.params().clone();
        }
        try (Trainer<TokenBatch> t = new Trainer<>(mb, new TrainModelLoopTest.PatternSource(c.vocabSize()), base.evalEvery(0).build())) {
            t.addListener(lb::add);
            t.train(5);
            pb = mb.params().clone();
        }
        assertArrayEquals(pb, pa);
        for (int i = 0; i < 5; i++) {
            assertEquals(lb.get(i).losses(), la.get(i).losses());
            assertFalse(lb.get(i).evaluated());
            assertEquals(i == 1 || i == 3 || i == 4, la.get(i).evaluated(), "evaluated at steps 2, 4 and the last step 5: step " + (i + 1));
        }
        assertTrue(la.get(4).valLoss() > 0 && la.get(4).valLoss() < Math.log(c.vocabSize()) * 2);
        assertEquals(la.get(4).valLoss() / Math.log(2), la.get(4).valBpb(), 1e-12);
        var json = MetricsLog.toJson(la.get(3));
        assertEquals(la.get(3).valLoss(), json.get("val_loss").asDouble());
        assertFalse(MetricsLog.toJson(la.get(2)).has("val_loss"));
        assertTrue(TrainProgress.message(la.get(3), TrainProgress.validation(la.get(3))).contains(String.format(java.util.Locale.ROOT, "val %.4f", la.get(3).valLoss())));
    }
}
