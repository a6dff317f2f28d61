package dev.jseek.posttrain;

import dev.jseek.model.DeepSeekV3;
import dev.jseek.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Parses a reward specification: comma-separated {@code NAME[=WEIGHT]} items summed with their weights (default 1),
 * NAME one of {@code exact} ({@link ExactMatchReward}), {@code format} ({@link FormatReward}), {@code logprob:DIR}
 * and {@code judge:DIR} ({@link ModelReward} with the scoring model in DIR), e.g. {@code exact,format=0.1}.
 */
public final class Rewards {
    private Rewards() {}

    /** @param open opens a scoring model directory (the caller closes the models with the run) */
    public static WeightedReward parse(String spec, Tokenizer tokenizer, Function<Path, DeepSeekV3> open) {
        List<WeightedReward.Part> parts = new ArrayList<>();
        for (String raw : spec.split(",")) {
            String item = raw.strip();
            if (item.isEmpty()) throw new IllegalArgumentException("reward '" + spec + "': empty item");
            double w = 1;
            int eq = item.lastIndexOf('=');
            if (eq >= 0) {
                try {
                    w = Double.parseDouble(item.substring(eq + 1));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("reward '" + item + "': weight '" + item.substring(eq + 1) + "' is not a number");
                }
                if (!Double.isFinite(w)) throw new IllegalArgumentException("reward '" + item + "': weight must be finite");
                item = item.substring(0, eq);
            }
            Reward r;
            if (item.equals("exact")) r = new ExactMatchReward();
            else if (item.equals("format")) r = new FormatReward();
            else if (item.startsWith("logprob:") || item.startsWith("judge:")) {
                boolean lp = item.startsWith("logprob:");
                String dir = item.substring(item.indexOf(':') + 1);
                if (dir.isEmpty()) throw new IllegalArgumentException("reward '" + item + "': give the scoring model directory after ':'");
                r = new ModelReward(open.apply(Path.of(dir)), tokenizer, lp ? ModelReward.Mode.LOGPROB : ModelReward.Mode.JUDGE, dir);
            } else throw new IllegalArgumentException("reward '" + item + "': unknown (use exact, format, logprob:DIR or judge:DIR)");
            parts.add(new WeightedReward.Part(r, w));
        }
        return new WeightedReward(parts);
    }

    /** Whether a reward needs reference answers (the exact-match part does). */
    public static boolean needsAnswers(WeightedReward r) {
        for (WeightedReward.Part p : r.parts()) if (p.reward() instanceof ExactMatchReward) return true;
        return false;
    }
}
