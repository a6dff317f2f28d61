package dev.jseek.cli;

import dev.jseek.bench.DecodeAlternation;
import java.util.List;

/**
 * The value of a bench's {@code --alternate KNOB=V1,V2,...} ({@code bench infer}, {@code bench rows}): a decode-order
 * knob and its values, checked before anything loads ({@link DecodeAlternation#check}); a malformed value or an unknown
 * knob is a one-line {@link UserException}.
 */
record AlternateOption(String knob, List<String> values) {
    /** Parses and checks {@code s}; null for null (the option not given). */
    static AlternateOption parse(String s) {
        if (s == null) return null;
        int eq = s.indexOf('=');
        if (eq <= 0 || eq == s.length() - 1) throw new UserException("--alternate: KNOB=V1,V2,..., got '" + s + "'");
        AlternateOption a = new AlternateOption(s.substring(0, eq).trim(), List.of(s.substring(eq + 1).split(",")));
        try {
            DecodeAlternation.check(a.knob, a.values);
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage());
        }
        return a;
    }
}
