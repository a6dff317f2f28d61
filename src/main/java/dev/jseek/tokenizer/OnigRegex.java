package dev.jseek.tokenizer;

import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Compiles a regular expression written for Oniguruma (the engine HF tokenizers uses for {@code Split} and
 * {@code ByteLevel} patterns) into an equivalent {@link java.util.regex.Pattern}.
 *
 * <p>Oniguruma (UTF-8, Ruby syntax, no options) makes {@code \s \d \w \b} Unicode-aware; Java does that only with
 * {@link Pattern#UNICODE_CHARACTER_CLASS}, which is always set here. Translations: {@code \v} (a vertical tab in
 * Oniguruma, a class in Java) becomes {@code \x0B}; a quantifier {@code {,n}} becomes {@code {0,n}}; a property
 * {@code \p{Han}} that is not a general category becomes Java's {@code \p{IsHan}}; the anchors {@code $} and {@code ^}
 * (outside a class) keep Oniguruma's Ruby-syntax meaning, end and start of a line ({@code \n}) or of the input, where
 * Java's would also stop at other line terminators or only at the input's ends. Constructs with no exact Java
 * equivalent ({@code \h \H \K \R \X}, {@code \p{^...}}, POSIX brackets {@code [:alpha:]}, absent operator
 * {@code (?~}, subexpression calls {@code \g}) are rejected with an error instead of silently changing meaning.
 * The DeepSeek-V3 and GPT-2 patterns are verified code point by code point against HF tokenizers in the tests.
 */
public final class OnigRegex {
    private OnigRegex() {}

    private static final Set<String> CATEGORIES = Set.of("L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me",
            "N", "Nd", "Nl", "No", "P", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "S", "Sm", "Sc", "Sk", "So", "Z",
            "Zs", "Zl", "Zp", "C", "Cc", "Cf", "Co", "Cs", "Cn");

    /** The Java pattern equivalent to an Oniguruma pattern; IllegalArgumentException names the construct. */
    public static Pattern compile(String onig) {
        String java = translate(onig);
        try {
            return Pattern.compile(java, Pattern.UNICODE_CHARACTER_CLASS);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("invalid regex: " + e.getDescription() + " at index " + e.getIndex());
        }
    }

    /** The Java regex source equivalent to {@code onig} (see class doc). */
    static String translate(String p) {
        StringBuilder out = new StringBuilder(p.length() + 16);
        int classDepth = 0;
        int n = p.length();
        for (int i = 0; i < n; i++) {
            char c = p.charAt(i);
            if (c == '\\') {
                if (i + 1 >= n) throw new IllegalArgumentException("regex ends with a lone backslash");
                char e = p.charAt(++i);
                switch (e) {
                    case 'h', 'H', 'K', 'R', 'X', 'g', 'G', 'y', 'Y', 'O' ->
                            throw new IllegalArgumentException("unsupported regex escape \\" + e + " (no exact java.util.regex equivalent)");
                    case 'v' -> out.append("\\x0B");
                    case 'p', 'P' -> {
                        if (i + 1 >= n || p.charAt(i + 1) != '{') {
                            throw new IllegalArgumentException("unsupported regex property syntax \\" + e + " without braces");
                        }
                        int close = p.indexOf('}', i);
                        if (close < 0) throw new IllegalArgumentException("unclosed \\" + e + "{ in regex");
                        String name = p.substring(i + 2, close);
                        if (name.startsWith("^")) {
                            throw new IllegalArgumentException("unsupported negated property \\" + e + "{" + name + "}");
                        }
                        String javaName = CATEGORIES.contains(name) ? name : "Is" + name;
                        try {
                            Pattern.compile("\\p{" + javaName + "}");
                        } catch (PatternSyntaxException ex) {
                            throw new IllegalArgumentException("unsupported regex property \\" + e + "{" + name + "}");
                        }
                        out.append('\\').append(e).append('{').append(javaName).append('}');
                        i = close;
                    }
                    default -> out.append('\\').append(e);
                }
                continue;
            }
            if (classDepth > 0) {
                if (c == '[') {
                    if (i + 1 < n && p.charAt(i + 1) == ':') {
                        throw new IllegalArgumentException("unsupported POSIX bracket expression in regex at index " + i);
                    }
                    classDepth++;
                    out.append(c);
                    // a ']' right after '[' or '[^' is a literal in both engines
                    if (i + 1 < n && p.charAt(i + 1) == '^') { out.append('^'); i++; }
                    if (i + 1 < n && p.charAt(i + 1) == ']') { out.append("\\]"); i++; }
                } else if (c == ']') {
                    classDepth--;
                    out.append(c);
                } else {
                    out.append(c);
                }
                continue;
            }
            switch (c) {
                case '[' -> {
                    classDepth++;
                    out.append(c);
                    if (i + 1 < n && p.charAt(i + 1) == '^') { out.append('^'); i++; }
                    if (i + 1 < n && p.charAt(i + 1) == ']') { out.append("\\]"); i++; }
                }
                case '{' -> {
                    if (i + 1 < n && p.charAt(i + 1) == ',') {
                        out.append("{0");
                    } else {
                        out.append(c);
                    }
                }
                case '(' -> {
                    if (p.startsWith("(?~", i)) throw new IllegalArgumentException("unsupported absent operator (?~ in regex");
                    out.append(c);
                }
                case '$' -> out.append("(?=\\n|\\z)");       // Ruby syntax: end of a line or of the input
                case '^' -> out.append("(?:(?<=\\n)|\\A)");  // start of a line or of the input
                default -> out.append(c);
            }
        }
        if (classDepth != 0) throw new IllegalArgumentException("unclosed character class in regex");
        return out.toString();
    }
}
