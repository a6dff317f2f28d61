package dev.jseek.posttrain;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.io.Checkpoint;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.ModelConfig;
import dev.jseek.tokenizer.Tokenizer;
import dev.jseek.train.BatchRamp;
import dev.jseek.train.LrSchedule;
import dev.jseek.train.StepMetrics;
import dev.jseek.train.TokenBatch;
import dev.jseek.train.TrainModel;
import dev.jseek.train.TrainModelTrainable;
import dev.jseek.train.Trainer;
import dev.jseek.train.TrainerConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * GRPO on a tiny model (docs/architecture.md §7.6): a policy-gradient step raises the log-probability of the higher-reward completion
 * and lowers the other's; the sampling model built from the training weights gives the training model's
 * log-probabilities; and on the arithmetic task, after a short SFT warm start, GRPO steps raise the mean reward.
 */
class GrpoLearningTest {
    @TempDir Path tmp;

    static TrainModel load(Path dir, int rows, int len) {
        TrainModel m = new TrainModel(ModelConfig.load(dir.resolve("config.json")), rows, len);
        try (Checkpoint ck = Checkpoint.open(dir)) { m.load(ck); }
        return m;
    }

    /** Sum of log pi over each completion's tokens (rows of owner c). */
    static double[] completionLogProbs(TrainModel m, RolloutBatch b) {
        double[] lp = m.forwardLogProbs(b.inputs(), b.targets(), b.rows(), b.seqLen());
        m.resetExpertLoad();
        double[] s = new double[b.rows()];
        for (int r = 0; r < lp.length; r++) if (b.completionOfRow()[r] >= 0) s[b.completionOfRow()[r]] += lp[r];
        return s;
    }

    @Test
    void policyGradientStepFavorsTheHigherReward() throws Exception {
        Tokenizer tok = Fixtures.tokenizer(tmp, 274);
        Path dir = Fixtures.tinyModel(tmp, 274, 3);
        TrainModel m = load(dir, 2, 32);
        ArithmeticTask task = new ArithmeticTask(9, "+", 5);
        RlPrompt p = task.get(0);
        int[] prompt = ChatTemplate(tok, p);
        // two completions: the right answer (reward 1) and a wrong one (reward 0)
        int[] right = concat(tok.encode(p.answer()), tok.eosId()), wrong = concat(tok.encode("13"), tok.eosId());
        RolloutBatch b = batch(prompt, right, wrong, tok, new ExactMatchReward(), p);
        assertArrayEquals(new double[] {1, 0}, b.rewards());
        assertArrayEquals(new double[] {1, -1}, b.advantages(), 1e-3);
        // the inference model of the training weights scores the completions as the training model does
        double[] before = completionLogProbs(m, b);
        try (DeepSeekV3 pol = PolicySnapshot.of(m)) {
            assertEquals(before[0], Arrays.stream(SequenceScorer.logProbs(pol, prompt, right)).sum(), 1e-4);
            assertEquals(before[1], Arrays.stream(SequenceScorer.logProbs(pol, prompt, wrong)).sum(), 1e-4);
        }
        GrpoTrainable g = new GrpoTrainable(m, 0.2, 0.04);
        m.zeroGrad();
        g.forwardBackward(b, 1f, null);
        float[] p0 = m.params(), gr = m.grads();
        for (int i = 0; i < p0.length; i++) p0[i] -= 0.05f * gr[i]; // one plain gradient-descent step on the GRPO loss
        double[] after = completionLogProbs(m, b);
        System.out.printf("log pi(right) %.4f -> %.4f, log pi(wrong) %.4f -> %.4f%n", before[0], after[0], before[1], after[1]);
        assertTrue(after[0] > before[0] + 1e-3, "higher-reward completion more likely: " + before[0] + " -> " + after[0]);
        assertTrue(after[1] < before[1] - 1e-3, "lower-reward completion less likely: " + before[1] + " -> " + after[1]);
    }

    static int[] ChatTemplate(Tokenizer tok, RlPrompt p) { return dev.jseek.tokenizer.ChatTemplate.encode(tok, p.messages(), true); }

    static int[] concat(int[] a, int b) {
        int[] r = Arrays.copyOf(a, a.length + 1);
        r[a.length] = b;
        return r;
    }

    /** A rollout batch of one prompt and two given completions (reference = none). */
    static RolloutBatch batch(int[] prompt, int[] c0, int[] c1, Tokenizer tok, Reward rw, RlPrompt p) {
        int[][] cs = {c0, c1};
        int T = prompt.length + Math.max(c0.length, c1.length) - 1;
        int[] in = new int[2 * T], tg = new int[2 * T], owner = new int[2 * T];
        Arrays.fill(tg, -1);
        Arrays.fill(owner, -1);
        List<Completion> comps = new ArrayList<>();
        double[] r = new double[2];
        for (int i = 0; i < 2; i++) {
            int[] seq = new int[prompt.length + cs[i].length];
            System.arraycopy(prompt, 0, seq, 0, prompt.length);
            System.arraycopy(cs[i], 0, seq, prompt.length, cs[i].length);
            for (int t = 0; t < seq.length - 1; t++) in[i * T + t] = seq[t];
            for (int t = 0; t < cs[i].length; t++) { tg[i * T + prompt.length - 1 + t] = cs[i][t]; owner[i * T + prompt.length - 1 + t] = i; }
            comps.add(new Completion(cs[i], tok.decode(Arrays.copyOf(cs[i], cs[i].length - 1)), true));
            r[i] = rw.score(p, prompt, comps.get(i));
        }
        return new RolloutBatch(2, T, in, tg, owner, null, 2, List.of(p), comps, r, new double[][] {{r[0]}, {r[1]}}, List.of(rw.name()),
                Advantages.of(r, 2, 1e-4), new int[] {c0.length, c1.length});
    }

    @Test
    void grpoRaisesTheMeanReward() throws Exception {
        Tokenizer tok = Fixtures.tokenizer(tmp, 274);
        Path dir = Fixtures.tinyModel(tmp, 274, 3);
        int G = 8, P = 2, maxNew = 4, L = 32;
        TrainModel m = load(dir, P * G, L);
        ArithmeticTask task = new ArithmeticTask(4, "+", 1);
        // a short SFT warm start: the model begins to answer with a number and end-of-sentence, some of the time
        List<SftExample> exs = new ArrayList<>();
        SftEncoder enc = new SftEncoder(tok);
        for (int i = 0; i < 200; i++) exs.add(enc.encode(task.chat(i)));
        SftBatchSource sft = new SftBatchSource(exs, 8, L - 1, 2, tok.padId(), false, 1);
        TrainerConfig sc = TrainerConfig.builder(LrSchedule.constant(3e-3)).gamma(LrSchedule.constant(0)).seed(1).build();
        try (Trainer<TokenBatch> t = new Trainer<>(new TrainModelTrainable(m), sft, sc)) {
            for (int i = 0; i < 15; i++) t.step();
        }
        WeightedReward rw = Rewards.parse("format", tok, d -> null);
        double evalBefore, evalAfter;
        try (DeepSeekV3 pol = PolicySnapshot.of(m)) {
            evalBefore = RewardEval.run(pol, tok, task, 100_000, 40, rw, maxNew, 0f, 1, 0).reward();
        }
        RolloutSource src = new RolloutSource(m, tok, task, rw, null, new RolloutSource.Settings(G, P, maxNew, 1f, 0, 1f, 7, L - 1));
        TrainerConfig gc = TrainerConfig.builder(LrSchedule.constant(1e-3)).gamma(LrSchedule.constant(0)).seed(1)
                .batch(BatchRamp.fixed(P * G, P * G)).build();
        double[] rewards = new double[40];
        try (Trainer<RolloutBatch> t = new Trainer<>(new GrpoTrainable(m, 0.2, 0.0), src, gc)) {
            for (int i = 0; i < rewards.length; i++) {
                StepMetrics s = t.step();
                rewards[i] = s.extra().get("reward");
                assertEquals(rewards[i], s.extra().get("reward_format"), 0);
            }
        }
        try (DeepSeekV3 pol = PolicySnapshot.of(m)) {
            evalAfter = RewardEval.run(pol, tok, task, 100_000, 40, rw, maxNew, 0f, 1, 0).reward();
        }
        double first = Arrays.stream(rewards, 0, 10).average().orElseThrow(), last = Arrays.stream(rewards, 30, 40).average().orElseThrow();
        System.out.printf("format reward of the rollouts: steps 1-10 %.3f, steps 31-40 %.3f; greedy on 40 held-out prompts %.3f -> %.3f%n",
                first, last, evalBefore, evalAfter);
        assertTrue(last > first + 0.15, "mean reward " + first + " -> " + last + ": " + Arrays.toString(rewards));
        assertTrue(evalAfter > evalBefore, "greedy format reward " + evalBefore + " -> " + evalAfter);
    }
}
