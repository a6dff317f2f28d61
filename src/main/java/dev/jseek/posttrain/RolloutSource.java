package dev.jseek.posttrain;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jseek.data.DataFormatException;
import dev.jseek.infer.Generator;
import dev.jseek.infer.Sampler;
import dev.jseek.io.FormatException;
import dev.jseek.model.AttnMode;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.tokenizer.ChatTemplate;
import dev.jseek.tokenizer.Tokenizer;
import dev.jseek.train.BatchSource;
import dev.jseek.train.TrainModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * GRPO's data (docs/architecture.md §7.6) for the {@link dev.jseek.train.Trainer}: each {@link #next()} takes the next P prompts of a
 * {@link PromptSet}, renders each with the chat template and its generation prompt, samples G completions per prompt
 * from the CURRENT policy (the inference model of the training parameters, {@link PolicySnapshot}: the Trainer fetches
 * all micro-batches of a step before updating, so every completion of a step comes from pi_old = the policy before
 * it), stopping at end-of-sentence or {@code maxNewTokens}; scores them with the {@link Reward}; computes the group
 * {@link Advantages}; and the reference model's log-probabilities of the completion tokens (for the KL term; skipped
 * when there is no reference model).
 *
 * <p>Determinism: completion g of prompt p in batch k is sampled with seed f(seed, k, p, g), so the run is a function
 * of the seed, and the position ({@link #saveState}: prompts used, batches made) resumes it exactly.
 */
public final class RolloutSource implements BatchSource<RolloutBatch> {
    /** Sampling settings: G completions per prompt, P prompts per micro-batch, token limit, sampler, seed, training length limit. */
    public record Settings(int group, int promptsPerBatch, int maxNewTokens, float temperature, int topK, float topP, long seed, int maxSeqLen) {
        public Settings {
            if (group < 2) throw new IllegalArgumentException("group size must be >= 2 (advantages compare completions), got " + group);
            if (promptsPerBatch < 1) throw new IllegalArgumentException("prompts per micro-batch must be >= 1, got " + promptsPerBatch);
            if (maxNewTokens < 1) throw new IllegalArgumentException("max new tokens must be >= 1, got " + maxNewTokens);
            if (!(temperature > 0)) throw new IllegalArgumentException("GRPO samples: temperature must be > 0, got " + temperature);
        }
    }

    private final TrainModel policy;
    private final Tokenizer tokenizer;
    private final PromptSet prompts;
    private final Reward reward;
    private final DeepSeekV3 ref;
    private final Settings s;
    private final double advEps;
    private long cursor, batches;

    /** @param ref the frozen reference model for the KL term, or null (beta = 0) */
    public RolloutSource(TrainModel policy, Tokenizer tokenizer, PromptSet prompts, Reward reward, DeepSeekV3 ref, Settings settings) {
        if (settings.group() * settings.promptsPerBatch() > policy.maxBatch())
            throw new IllegalArgumentException(settings.group() * settings.promptsPerBatch() + " completions per micro-batch exceed the model's "
                    + policy.maxBatch() + " rows");
        if (settings.maxSeqLen() > policy.maxSeqLen())
            throw new IllegalArgumentException("max sequence length " + settings.maxSeqLen() + " exceeds the model's " + policy.maxSeqLen());
        this.policy = policy;
        this.tokenizer = tokenizer;
        this.prompts = prompts;
        this.reward = reward;
        this.ref = ref;
        this.s = settings;
        this.advEps = 1e-4;
    }

    public Settings settings() { return s; }

    /** The seed of completion g of prompt p in batch k. */
    long sampleSeed(long k, int p, int g) {
        long z = s.seed() * 0x9E3779B97F4A7C15L + k * 0xBF58476D1CE4E5B9L + p * 0x94D049BB133111EBL + g;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        return z ^ (z >>> 31);
    }

    /** The prompt's ids: the chat template with the generation prompt. */
    public int[] promptTokens(RlPrompt p) { return ChatTemplate.encode(tokenizer, p.messages(), true); }

    @Override public RolloutBatch next() {
        int P = s.promptsPerBatch(), G = s.group(), rows = P * G, eos = tokenizer.eosId();
        List<RlPrompt> ps = new ArrayList<>(P);
        List<int[]> promptIds = new ArrayList<>(P);
        for (int p = 0; p < P; p++) {
            RlPrompt q = prompts.get(cursor + p);
            int[] ids = promptTokens(q);
            if (ids.length + s.maxNewTokens() > s.maxSeqLen() + 1)
                throw new DataFormatException(prompts.describe() + ": prompt " + (cursor + p) + " has " + ids.length + " tokens; with " + s.maxNewTokens()
                        + " new tokens it exceeds the sequence limit " + (s.maxSeqLen() + 1) + " (raise --max-seq-len or shorten it)");
            ps.add(q);
            promptIds.add(ids);
        }
        List<Completion> comps = new ArrayList<>(rows);
        try (DeepSeekV3 pol = PolicySnapshot.of(policy)) {
            Generator gen = new Generator(pol, AttnMode.ABSORB);
            for (int p = 0; p < P; p++)
                for (int g = 0; g < G; g++) {
                    Sampler sm = new Sampler(s.temperature(), s.topK(), s.topP(), sampleSeed(batches, p, g));
                    int[] t = gen.generate(promptIds.get(p), s.maxNewTokens(), sm, new int[] {eos}, null).tokens();
                    boolean fin = t.length > 0 && t[t.length - 1] == eos;
                    comps.add(new Completion(t, tokenizer.decode(fin ? Arrays.copyOf(t, t.length - 1) : t), fin));
                }
        }
        double[] rewards = new double[rows];
        List<String> names = new ArrayList<>();
        double[][] parts;
        if (reward instanceof WeightedReward wr) {
            for (WeightedReward.Part pt : wr.parts()) names.add(pt.reward().name());
            parts = new double[rows][];
            for (int i = 0; i < rows; i++) {
                parts[i] = wr.scores(ps.get(i / G), promptIds.get(i / G), comps.get(i));
                for (int j = 0; j < parts[i].length; j++) rewards[i] += wr.parts().get(j).weight() * parts[i][j];
            }
        } else {
            names.add(reward.name());
            parts = new double[rows][1];
            for (int i = 0; i < rows; i++) rewards[i] = parts[i][0] = reward.score(ps.get(i / G), promptIds.get(i / G), comps.get(i));
        }
        double[] adv = Advantages.of(rewards, G, advEps);
        // sequences prompt + completion, right-padded; targets on the completion tokens only
        int longest = 0;
        for (int i = 0; i < rows; i++) longest = Math.max(longest, promptIds.get(i / G).length + comps.get(i).length());
        int T = longest - 1, pad = tokenizer.padId() >= 0 ? tokenizer.padId() : eos;
        int[] in = new int[rows * T], tg = new int[rows * T], owner = new int[rows * T], lengths = new int[rows];
        Arrays.fill(in, pad);
        Arrays.fill(tg, -1);
        Arrays.fill(owner, -1);
        double[] refLp = ref != null ? new double[rows * T] : null;
        for (int i = 0; i < rows; i++) {
            int[] pr = promptIds.get(i / G), c = comps.get(i).tokens();
            int[] seq = new int[pr.length + c.length];
            System.arraycopy(pr, 0, seq, 0, pr.length);
            System.arraycopy(c, 0, seq, pr.length, c.length);
            for (int t = 0; t < seq.length - 1; t++) in[i * T + t] = seq[t];
            for (int t = 0; t < c.length; t++) {
                int r = i * T + pr.length - 1 + t;
                tg[r] = c[t];
                owner[r] = i;
            }
            lengths[i] = c.length;
            if (ref != null) {
                double[] lp = SequenceScorer.logProbs(ref, pr, c);
                for (int t = 0; t < c.length; t++) refLp[i * T + pr.length - 1 + t] = lp[t];
            }
        }
        cursor += P;
        batches++;
        return new RolloutBatch(rows, T, in, tg, owner, refLp, G, ps, comps, rewards, parts, names, adv, lengths);
    }

    @Override public int microBatchRows() { return s.promptsPerBatch() * s.group(); }

    @Override public long tokens(RolloutBatch b) { return (long) b.rows() * b.seqLen(); }

    @Override public byte[] saveState() {
        return SourcePosition.bytes("{\"prompt\":" + cursor + ",\"batches\":" + batches + "}");
    }

    @Override public void restoreState(byte[] state) {
        JsonNode o = SourcePosition.read(state, "GRPO position");
        if (o == null || !o.path("prompt").canConvertToLong() || !o.path("batches").canConvertToLong())
            throw new FormatException("GRPO position in the checkpoint lacks prompt/batches: " + o);
        cursor = o.get("prompt").asLong();
        batches = o.get("batches").asLong();
    }
}
