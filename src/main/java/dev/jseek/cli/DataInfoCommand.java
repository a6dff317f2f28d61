package dev.jseek.cli;

import dev.jseek.data.DataFormatException;
import dev.jseek.data.Manifest;
import dev.jseek.data.TokenDataset;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code jseek data info DIR}: verifies every shard of a prepared directory and prints its manifest summary. */
@Command(name = "info", mixinStandardHelpOptions = true, description = "Verify the shards of a prepared data directory and summarise it.")
public final class DataInfoCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "DIR", description = "Directory written by `jseek data prepare`.")
    Path dir;

    @Option(names = "--no-verify", description = "Check headers and lengths only, not the checksums.")
    boolean noVerify;

    @Override public Integer call() throws IOException {
        try (TokenDataset ds = TokenDataset.open(dir, !noVerify)) {
            Manifest m = ds.manifest();
            System.out.printf("%s: corpus %s (%,d documents), tokenizer %s (vocab %d, sha256 %s), %s%n", dir, m.corpus(), m.corpusDocuments(),
                    m.tokenizer().name(), m.tokenizer().vocabSize(), m.tokenizer().sha256(), m.dtype());
            System.out.printf("seed %d, fim rate %s, val fraction %s, shard tokens %,d, config %s%n", m.seed(), m.fimRate(), m.valFraction(),
                    m.shardTokens(), m.configHash());
            System.out.printf("train: %,d tokens, %,d documents, %d shards; val: %,d tokens, %,d documents, %d shards; %s%n",
                    m.train().tokens(), m.train().documents(), m.train().shards().size(), m.val().tokens(), m.val().documents(),
                    m.val().shards().size(), noVerify ? "headers checked" : "all checksums verified");
            return 0;
        } catch (DataFormatException e) {
            throw new UserException(e.getMessage(), e);
        }
    }
}
