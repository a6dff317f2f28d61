package dev.jseek.posttrain;

import dev.jseek.model.DeepSeekV3;
import dev.jseek.tokenizer.ChatTemplate;
import dev.jseek.tokenizer.Message;
import dev.jseek.tokenizer.Tokenizer;
import java.util.List;

/**
 * Model-based rewards (docs/architecture.md §7.6: a reward model scores the answer), from a scoring model that shares the policy's
 * tokenizer:
 * <ul>
 *   <li>{@link Mode#LOGPROB}: the mean log-probability of the completion's tokens given the prompt under the scoring
 *       model (<= 0; higher = more like what the scoring model would write);</li>
 *   <li>{@link Mode#JUDGE}: the scoring model is asked, through the chat template, "Question: Q\nAnswer: A\nIs the
 *       answer correct? Reply yes or no." and the reward is P(yes) / (P(yes) + P(no)) of its first reply token
 *       (the first tokens of "yes" and "no").</li>
 * </ul>
 */
public final class ModelReward implements Reward {
    public enum Mode { LOGPROB, JUDGE }

    private final DeepSeekV3 model;
    private final Tokenizer tokenizer;
    private final Mode mode;
    private final String label;
    private final int yes, no;

    public ModelReward(DeepSeekV3 model, Tokenizer tokenizer, Mode mode, String label) {
        if (tokenizer.vocabSize() > model.config.vocabSize())
            throw new IllegalArgumentException(label + ": the tokenizer's vocab " + tokenizer.vocabSize() + " exceeds the scoring model's "
                    + model.config.vocabSize());
        this.model = model;
        this.tokenizer = tokenizer;
        this.mode = mode;
        this.label = label;
        int[] y = tokenizer.encode("yes"), n = tokenizer.encode("no");
        this.yes = y[0];
        this.no = n[0];
        if (yes == no) throw new IllegalArgumentException("'yes' and 'no' start with the same token " + yes + "; the judge reward cannot tell them apart");
    }

    /** The judge's prompt for a question and an answer. */
    public static List<Message> judgePrompt(String question, String answer) {
        return List.of(Message.user("Question: " + question + "\nAnswer: " + answer + "\nIs the answer correct? Reply yes or no."));
    }

    @Override public double score(RlPrompt prompt, int[] promptTokens, Completion c) {
        return switch (mode) {
            case LOGPROB -> {
                double[] lp = SequenceScorer.logProbs(model, promptTokens, c.tokens());
                double s = 0;
                for (double v : lp) s += v;
                yield s / lp.length;
            }
            case JUDGE -> {
                double[] p = SequenceScorer.nextTokenProbs(model, ChatTemplate.encode(tokenizer, judgePrompt(prompt.question(), c.text()), true));
                double d = p[yes] + p[no];
                yield d > 0 ? p[yes] / d : 0.5;
            }
        };
    }

    @Override public String name() { return (mode == Mode.LOGPROB ? "logprob:" : "judge:") + label; }
}
