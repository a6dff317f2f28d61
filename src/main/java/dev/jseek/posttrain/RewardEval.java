package dev.jseek.posttrain;

import dev.jseek.infer.Generator;
import dev.jseek.infer.Sampler;
import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.tokenizer.ChatTemplate;
import dev.jseek.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Scores a model on a fixed list of prompts (positions first..first+n-1 of a {@link PromptSet}): one completion each
 * (greedy by default, else sampled with a per-prompt seed), the mean reward and the mean of each part of a
 * {@link WeightedReward}, the finished share and the mean completion length. Used to compare a model before and after
 * GRPO on the same prompts.
 */
public final class RewardEval {
    private RewardEval() {}

    /** The outcome: mean reward, each part's mean, finished share, mean tokens, and a few (prompt, completion) samples. */
    public record Result(int prompts, double reward, List<String> partNames, double[] parts, double finished, double tokens, List<String[]> samples) {}

    public static Result run(DeepSeekV3 model, Tokenizer tok, PromptSet set, long first, int n, WeightedReward reward, int maxNewTokens,
                             float temperature, long seed, int keepSamples) {
        if (n < 1) throw new IllegalArgumentException("evaluation needs at least one prompt, got " + n);
        Generator gen = new Generator(model, AttnMode.ABSORB);
        int k = reward.parts().size();
        double[] parts = new double[k];
        double total = 0, fin = 0, len = 0;
        List<String[]> samples = new ArrayList<>();
        int eos = tok.eosId();
        for (int i = 0; i < n; i++) {
            RlPrompt p = set.get(first + i);
            int[] ids = ChatTemplate.encode(tok, p.messages(), true);
            Sampler s = temperature > 0 ? new Sampler(temperature, 0, 1f, seed * 0x9E3779B97F4A7C15L + i) : Sampler.greedy();
            int[] t = gen.generate(ids, maxNewTokens, s, new int[] {eos}, null).tokens();
            boolean f = t.length > 0 && t[t.length - 1] == eos;
            Completion c = new Completion(t, tok.decode(f ? Arrays.copyOf(t, t.length - 1) : t), f);
            double[] sc = reward.scores(p, ids, c);
            for (int j = 0; j < k; j++) {
                parts[j] += sc[j] / n;
                total += reward.parts().get(j).weight() * sc[j] / n;
            }
            if (f) fin += 1.0 / n;
            len += (double) t.length / n;
            if (samples.size() < keepSamples) samples.add(new String[] {p.question(), c.text(), p.answer()});
        }
        List<String> names = new ArrayList<>();
        for (WeightedReward.Part pt : reward.parts()) names.add(pt.reward().name());
        return new Result(n, total, names, parts, fin, len, samples);
    }
}
