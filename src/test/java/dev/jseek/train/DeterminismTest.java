package dev.jseek.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jseek.model.ModelConfig;
import org.junit.jupiter.api.Test;

/** Repeated forward/backward of the same batch gives bit-identical losses and gradients (no state leaks between steps). */
class DeterminismTest {
    @Test void sameBatchSameBits() {
        ModelConfig c = Fp8TrainingTest.wide(1, 4, 1);
        int B = 2, T = 8;
        TrainModel m = new TrainModel(c, B, T);
        Harness.randomParams(m.layout(), m.params(), 62);
        m.setBalanceAlpha(0.01f);
        int[][] d = Fp8TrainingTest.data(c, B, T, 63);
        Fp8TrainingTest.Run r1 = Fp8TrainingTest.run(m, d, B, T);
        for (int rep = 0; rep < 2; rep++) {
            Fp8TrainingTest.Run r2 = Fp8TrainingTest.run(m, d, B, T);
            assertEquals(r1.loss(), r2.loss(), "loss of repeat " + rep);
            for (ParamLayout.Entry e : m.layout().entries())
                for (int i = 0; i < e.size(); i++)
                    assertEquals(r1.grads()[e.offset() + i], r2.grads()[e.offset() + i], e.name() + "[" + i + "] repeat " + rep);
        }
    }
}
