package dev.jseek.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jseek.eval.Passkey;
import dev.jseek.io.AtomicFiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code jseek eval passkey-data}: synthetic retrieval documents (JSONL, field "text") in the passkey layout, for the
 * data mix of a context-extension stage ({@code data prepare --corpus jdk,jsonl:passkey.jsonl}). Filler lengths are
 * uniform in [--min-units, --max-units]; keys and needle depths come from --seed, unrelated to the evaluation's keys.
 */
@Command(name = "passkey-data", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Write synthetic passkey retrieval documents as JSONL (field \"text\") for an extension stage's data mix.")
public final class PasskeyDataCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Option(names = "--out", required = true, description = "Output .jsonl file.") Path out;
    @Option(names = "--docs", defaultValue = "2000", description = "Documents (default ${DEFAULT-VALUE}).") int docs;
    @Option(names = "--min-units", defaultValue = "2", description = "Least filler units (about 20 tokens each) per document (default ${DEFAULT-VALUE}).") int minUnits;
    @Option(names = "--max-units", defaultValue = "150", description = "Most filler units per document (default ${DEFAULT-VALUE}).") int maxUnits;
    @Option(names = "--seed", defaultValue = "1000", description = "Seed of the keys and depths (default ${DEFAULT-VALUE}).") long seed;

    @Override public Integer call() {
        if (docs < 1) throw new UserException("--docs must be >= 1, got " + docs);
        if (minUnits < 1 || maxUnits < minUnits) throw new UserException("need 1 <= --min-units <= --max-units, got " + minUnits + " and " + maxUnits);
        SplittableRandom r = new SplittableRandom(seed);
        ObjectMapper json = new ObjectMapper();
        StringBuilder sb = new StringBuilder();
        try {
            for (int i = 0; i < docs; i++)
                sb.append(json.writeValueAsString(java.util.Map.of("text", Passkey.trainingText(minUnits + r.nextInt(maxUnits - minUnits + 1), r)))).append('\n');
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        AtomicFiles.write(out, sb.toString().getBytes(StandardCharsets.UTF_8));
        spec.commandLine().getOut().println("wrote " + docs + " passkey documents to " + out);
        spec.commandLine().getOut().flush();
        return 0;
    }
}
