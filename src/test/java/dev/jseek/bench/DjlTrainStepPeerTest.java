package dev.jseek.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jseek.model.ModelConfig;
import dev.jseek.model.Presets;
import dev.jseek.train.AdamW;
import dev.jseek.train.TrainModel;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The PyTorch peer of {@code jseek bench train} and jseek's trainer run the same model: from the same weights and
 * batch, torch autograd (float32) and jseek's hand-written backward give the same loss and gradient norm, and three
 * AdamW steps later the same losses (the bench is only meaningful if this holds).
 */
class DjlTrainStepPeerTest {
    @Test void peerMatchesJseekLossGradientsAndUpdates() {
        ModelConfig c = Presets.get("tiny");
        int B = 2, T = 12;
        TrainModel m = new TrainModel(c, B, T);
        m.initRandom(5, 0.05f);           // larger than the 0.006 init so routing and attention are far from uniform
        m.setBalanceAlpha(0.01f);
        SplittableRandom r = new SplittableRandom(9);
        int[][] tok = new int[3][B * T], tgt = new int[3][B * T];
        for (int s = 0; s < 3; s++)
            for (int i = 0; i < B * T; i++) { tok[s][i] = r.nextInt(c.vocabSize()); tgt[s][i] = r.nextInt(c.vocabSize()); }
        TrainStepPeer.Hyper h = new TrainStepPeer.Hyper(m.mtpLambda(), m.balanceAlpha(), true, 0.9f, 0.95f, 1e-8f, 0.1f);
        try (DjlTrainStepPeer peer = new DjlTrainStepPeer()) {
            peer.setup(c, m.layout(), m.params().clone(), B, T, h, 1);
            double[] ln = peer.lossAndGradNorm(tok[0], tgt[0]);
            m.zeroGrad();
            double loss = m.forwardBackward(tok[0], tgt[0], B, T);
            double norm = AdamW.clipGradNorm(m.layout(), m.grads(), Double.POSITIVE_INFINITY);
            assertEquals(ln[0], loss, 1e-5 * Math.abs(loss), "loss");
            assertEquals(ln[1], norm, 1e-4 * norm, "gradient norm");
            AdamW opt = AdamW.deepSeekV3(m.layout(), 1e-8f);
            for (int s = 0; s < 3; s++) {
                double pl = peer.step(tok[s], tgt[s], 1e-3f);
                m.zeroGrad();
                double jl = m.forwardBackward(tok[s], tgt[s], B, T);
                opt.step(m.params(), m.grads(), 1e-3f);
                assertEquals(pl, jl, 2e-4 * Math.abs(jl), "loss of step " + (s + 1));
            }
        }
    }
}
