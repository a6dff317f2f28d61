import dev.jseek.model.ModelConfig;
import dev.jseek.model.Presets;
import dev.jseek.train.AdamW;
import dev.jseek.train.GradClip;
import dev.jseek.train.TrainTensor;
import dev.jseek.train.Precision;
import dev.jseek.train.TrainModel;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Bit-exact loss trace of a short deterministic training run, for refactors that must not change the numbers:
 * {@code java --add-modules jdk.incubator.vector -cp "target/jseek.jar:target/lib/*" tools/LossTrace.java tiny,small fp32,fp8 6}
 * prints, per preset, precision and step, the loss (float, hex bits), the gradient norm and, at the end, a hash of
 * every parameter bit. Diff the output of two builds. Each step: zeroGrad, forward + backward (main + MTP +
 * balance loss), AdamW, the aux-loss-free bias update (so routing moves); B=2, T=32, seed 1.
 */
public final class LossTrace {
    public static void main(String[] a) {
        String[] presets = a.length > 0 ? a[0].split(",") : new String[] {"tiny", "small"};
        String[] precs = a.length > 1 ? a[1].split(",") : new String[] {"fp32", "fp8"};
        int steps = a.length > 2 ? Integer.parseInt(a[2]) : 6;
        int B = 2, T = 32;
        for (String p : presets)
            for (String pr : precs) {
                ModelConfig c = Presets.get(p);
                Precision prec = Precision.valueOf(pr.toUpperCase(Locale.ROOT));
                TrainModel m = new TrainModel(c, B, T, true, prec);
                m.initRandom(1, 0.02f);
                AdamW opt = AdamW.deepSeekV3(m.layout(), 1e-8f);
                SplittableRandom rnd = new SplittableRandom(7);
                int[] tok = new int[B * T], tgt = new int[B * T];
                for (int s = 0; s < steps; s++) {
                    for (int j = 0; j < B * T; j++) tok[j] = rnd.nextInt(c.vocabSize());
                    for (int j = 0; j < B * T; j++) tgt[j] = (j + 1) % T != 0 ? tok[j + 1] : rnd.nextInt(c.vocabSize());
                    m.zeroGrad();
                    float loss = m.forwardBackward(tok, tgt, B, T);
                    double norm = GradClip.clip(m.grads(), TrainTensor.fromLayout(m.layout()), 1.0);
                    opt.step(m.params(), m.grads(), 3e-3f);
                    m.updateBias(1e-3f);
                    System.out.printf(Locale.ROOT, "%s %s step %d loss %.9f (%08x) grad-norm %.12e%n", p, pr, s, loss,
                            Float.floatToRawIntBits(loss), norm);
                }
                long h = 1125899906842597L;
                for (float v : m.params()) h = 31 * h + Float.floatToRawIntBits(v);
                System.out.printf(Locale.ROOT, "%s %s params hash %016x%n", p, pr, h);
            }
    }
}
