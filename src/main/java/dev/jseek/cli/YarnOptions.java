package dev.jseek.cli;

import dev.jseek.model.ModelConfig;
import dev.jseek.train.ExtensionStage;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The YaRN options of a context-extension stage of {@code jseek train} (report §4.3; docs/training.md). */
final class YarnOptions {
    @Option(names = "--yarn-factor", description = "Context-extension stage (report §4.3; use with --init-from and a longer --seq-len): YaRN scale s written into the config, max_position_embeddings = s x --yarn-original-len.") Double factor;
    @Option(names = "--yarn-original-len", description = "The pre-training sequence length YaRN extends from (default: the config's rope_scaling, if any).") Integer original;
    @Option(names = "--yarn-beta-fast", defaultValue = "32", description = "YaRN beta (default ${DEFAULT-VALUE}, as the report).") double betaFast;
    @Option(names = "--yarn-beta-slow", defaultValue = "1", description = "YaRN alpha (default ${DEFAULT-VALUE}, as the report).") double betaSlow;
    @Option(names = "--yarn-mscale", defaultValue = "1.0", description = "YaRN mscale = mscale_all_dim: sqrt(t) = 0.1 mscale ln s + 1 (default ${DEFAULT-VALUE}, as the report).") double mscale;

    /** Whether this run is an extension stage (--yarn-factor given). */
    boolean given() { return factor != null; }

    /** {@code c} with the YaRN settings of a context-extension stage to {@code seqLen} when --yarn-factor is given, else {@code c}. */
    ModelConfig apply(ModelConfig c, Path resumeDir, int seqLen) {
        if (factor == null) {
            if (original != null) throw new UserException("--yarn-original-len needs --yarn-factor");
            return c;
        }
        if (resumeDir != null) throw new UserException("--yarn-factor starts an extension stage from --init-from; a resumed run keeps its checkpoint's config");
        int from;
        if (original != null) from = original;
        else if (c.ropeScaling() != null) from = c.ropeScaling().originalMaxPositionEmbeddings();
        else throw new UserException("--yarn-factor needs --yarn-original-len (the pre-training sequence length): the config has no rope_scaling to take it from");
        try {
            return new ExtensionStage(seqLen, factor, from, betaFast, betaSlow, mscale).apply(c);
        } catch (IllegalArgumentException e) {
            throw new UserException("extension stage: " + e.getMessage(), e);
        }
    }
}
