package dev.jseek.jinja;

import dev.jseek.jinja.Values.Tuple;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.jseek.jinja.Values.*;

/**
 * Python's methods on the values templates call them on: {@code str} ({@code strip}, {@code split},
 * {@code startswith}, ...), {@code dict} ({@code get}, {@code items}, ...) and {@code list} ({@code append},
 * {@code pop}, ...; lists are mutable, as in jinja2's sandbox and llama.cpp's engine).
 */
final class Methods {
    private Methods() {}

    private static final Set<String> STR = Set.of("strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith", "endswith",
            "replace", "lower", "upper", "title", "capitalize", "swapcase", "find", "rfind", "index", "rindex", "count", "join",
            "isdigit", "isalpha", "isalnum", "isspace", "islower", "isupper", "isnumeric", "isdecimal", "format", "removeprefix",
            "removesuffix", "partition", "rpartition", "center", "ljust", "rjust", "zfill");
    private static final Set<String> DICT = Set.of("get", "items", "keys", "values", "update", "pop", "setdefault", "copy", "clear");
    private static final Set<String> LIST = Set.of("append", "pop", "insert", "extend", "remove", "index", "count", "copy", "reverse",
            "sort", "clear");
    private static final Set<String> TUPLE = Set.of("index", "count");

    static boolean has(Object obj, String name) {
        if (obj instanceof String) return STR.contains(name);
        if (obj instanceof Map) return DICT.contains(name);
        if (obj instanceof Tuple) return TUPLE.contains(name);
        if (obj instanceof List) return LIST.contains(name);
        return false;
    }

    static Object call(Object self, String name, CallArgs a) {
        self = plain(self);
        a = a.plain();
        if (self instanceof String s) return str(s, name, a);
        if (self instanceof Map<?, ?> m) {
            @SuppressWarnings("unchecked") Map<Object, Object> mm = (Map<Object, Object>) m;
            return dict(mm, name, a);
        }
        if (self instanceof Tuple t) return list(t, name, a, false);
        @SuppressWarnings("unchecked") List<Object> l = (List<Object>) self;
        return list(l, name, a, true);
    }

    // ---- str ----

    static String lower(String s) { return s.toLowerCase(java.util.Locale.ROOT); }
    static String upper(String s) { return s.toUpperCase(java.util.Locale.ROOT); }

    static String strip(String s, String chars, boolean left, boolean right) {
        int b = 0, e = s.length();
        if (left) while (b < e && stripped(s.charAt(b), chars)) b++;
        if (right) while (e > b && stripped(s.charAt(e - 1), chars)) e--;
        return s.substring(b, e);
    }

    private static boolean stripped(char c, String chars) { return chars == null ? Lexer.isSpace(c) : chars.indexOf(c) >= 0; }

    /** Python's str.split / rsplit (sep null: runs of whitespace, no empty strings). */
    static List<Object> split(String s, String sep, long max, boolean fromRight, int line) {
        List<Object> out = new ArrayList<>();
        if (sep != null && sep.isEmpty()) throw new JinjaException("ValueError: empty separator", line);
        if (max < 0) max = Long.MAX_VALUE;
        if (sep == null) {
            List<int[]> words = new ArrayList<>();
            int i = 0;
            while (i < s.length()) {
                while (i < s.length() && Lexer.isSpace(s.charAt(i))) i++;
                if (i >= s.length()) break;
                int j = i;
                while (j < s.length() && !Lexer.isSpace(s.charAt(j))) j++;
                words.add(new int[] {i, j});
                i = j;
            }
            if (words.size() - 1 <= max) { for (int[] w : words) out.add(s.substring(w[0], w[1])); return out; }
            if (!fromRight) {
                for (int k = 0; k < max; k++) out.add(s.substring(words.get(k)[0], words.get(k)[1]));
                out.add(s.substring(words.get((int) max)[0]));
            } else {
                int first = words.size() - (int) max;
                out.add(s.substring(0, words.get(first - 1)[1]));
                for (int k = first; k < words.size(); k++) out.add(s.substring(words.get(k)[0], words.get(k)[1]));
            }
            return out;
        }
        if (!fromRight) {
            int from = 0;
            for (long k = 0; k < max; k++) {
                int at = s.indexOf(sep, from);
                if (at < 0) break;
                out.add(s.substring(from, at));
                from = at + sep.length();
            }
            out.add(s.substring(from));
        } else {
            int to = s.length();
            List<Object> rev = new ArrayList<>();
            for (long k = 0; k < max; k++) {
                int at = s.lastIndexOf(sep, to - sep.length());
                if (at < 0 || to - sep.length() < 0) break;
                rev.add(s.substring(at + sep.length(), to));
                to = at;
            }
            rev.add(s.substring(0, to));
            for (int k = rev.size() - 1; k >= 0; k--) out.add(rev.get(k));
        }
        return out;
    }

    /** Python's str.splitlines: splits on \n, \r\n, \r, \v, \f, \x1c-\x1e, \x85, \u2028, \u2029. */
    static List<Object> splitlines(String s, boolean keepends) {
        List<Object> out = new ArrayList<>();
        int start = 0, i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            int eol;
            if (c == '\r' && i + 1 < s.length() && s.charAt(i + 1) == '\n') eol = 2;
            else if (c == '\n' || c == '\r' || c == '\u000b' || c == '\u000c' || (c >= '\u001c' && c <= '\u001e') || c == '\u0085'
                    || c == '\u2028' || c == '\u2029') eol = 1;
            else { i++; continue; }
            out.add(s.substring(start, keepends ? i + eol : i));
            i += eol;
            start = i;
        }
        if (start < s.length()) out.add(s.substring(start));
        return out;
    }

    /** Python's str.title: a letter after a non-letter is upper-cased, other letters lower-cased. */
    static String pyTitle(String s) {
        StringBuilder b = new StringBuilder();
        boolean prevCased = false;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            if (Character.isLetter(cp)) {
                b.append(prevCased ? new String(Character.toChars(cp)).toLowerCase(java.util.Locale.ROOT)
                        : new String(Character.toChars(Character.toTitleCase(cp))));
                prevCased = true;
            } else {
                b.appendCodePoint(cp);
                prevCased = false;
            }
        }
        return b.toString();
    }

    static String capitalize(String s) {
        if (s.isEmpty()) return s;
        int cp = s.codePointAt(0);
        return new String(Character.toChars(Character.toTitleCase(cp))) + lower(s.substring(Character.charCount(cp)));
    }

    private static boolean affix(String s, Object arg, boolean start, int line) {
        if (arg instanceof String p) return start ? s.startsWith(p) : s.endsWith(p);
        if (arg instanceof Tuple t) {
            for (Object o : t) if (affix(s, o, start, line)) return true;
            return false;
        }
        throw typeError((start ? "startswith" : "endswith") + " first arg must be str or a tuple of str, not " + typeName(arg), line);
    }

    private static int cpIndex(String s, int charIndex) { return charIndex < 0 ? -1 : s.codePointCount(0, charIndex); }

    private static boolean all(String s, java.util.function.IntPredicate p) {
        if (s.isEmpty()) return false;
        return s.codePoints().allMatch(p);
    }

    private static Object str(String s, String name, CallArgs a) {
        int line = a.line();
        switch (name) {
            case "strip", "lstrip", "rstrip" -> {
                a.check(1);
                return strip(s, a.strArg(0, "chars", null), !name.equals("rstrip"), !name.equals("lstrip"));
            }
            case "split", "rsplit" -> {
                a.check(2, "sep", "maxsplit");
                return split(s, a.strArg(0, "sep", null), a.intArg(1, "maxsplit", -1), name.equals("rsplit"), line);
            }
            case "splitlines" -> { a.check(1, "keepends"); return splitlines(s, truthy(a.get(0, "keepends", false))); }
            case "startswith", "endswith" -> {
                a.check(1);
                return affix(s, a.required(0, "prefix"), name.equals("startswith"), line);
            }
            case "replace" -> {
                a.check(3, "count");
                return Filters.replace(s, a.strArg(0, "old", null), a.strArg(1, "new", null), a.intArg(2, "count", -1), line);
            }
            case "lower" -> { a.check(0); return lower(s); }
            case "upper" -> { a.check(0); return upper(s); }
            case "title" -> { a.check(0); return pyTitle(s); }
            case "capitalize" -> { a.check(0); return capitalize(s); }
            case "swapcase" -> {
                a.check(0);
                StringBuilder b = new StringBuilder();
                s.codePoints().forEach(c -> b.appendCodePoint(Character.isUpperCase(c) ? Character.toLowerCase(c) : Character.toUpperCase(c)));
                return b.toString();
            }
            case "find", "index" -> {
                a.check(1);
                int at = s.indexOf(a.strArg(0, "sub", null));
                if (at < 0 && name.equals("index")) throw new JinjaException("ValueError: substring not found", line);
                return (long) cpIndex(s, at);
            }
            case "rfind", "rindex" -> {
                a.check(1);
                int at = s.lastIndexOf(a.strArg(0, "sub", null));
                if (at < 0 && name.equals("rindex")) throw new JinjaException("ValueError: substring not found", line);
                return (long) cpIndex(s, at);
            }
            case "count" -> {
                a.check(1);
                String sub = a.strArg(0, "sub", null);
                if (sub.isEmpty()) return length(s, line) + 1;
                long n = 0;
                for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) n++;
                return n;
            }
            case "join" -> {
                a.check(1);
                StringBuilder b = new StringBuilder();
                boolean first = true;
                for (Object o : iterate(a.required(0, "iterable"), line)) {
                    if (!(o instanceof String x)) throw typeError("sequence item: expected str instance, " + typeName(o) + " found", line);
                    if (!first) b.append(s);
                    b.append(x);
                    first = false;
                }
                return b.toString();
            }
            case "isdigit", "isdecimal", "isnumeric" -> { a.check(0); return all(s, Character::isDigit); }
            case "isalpha" -> { a.check(0); return all(s, Character::isLetter); }
            case "isalnum" -> { a.check(0); return all(s, Character::isLetterOrDigit); }
            case "isspace" -> { a.check(0); return all(s, c -> c < 0x10000 && Lexer.isSpace((char) c)); }
            case "islower" -> { a.check(0); return s.codePoints().anyMatch(Character::isLowerCase) && s.codePoints().noneMatch(c -> Character.isUpperCase(c) || Character.isTitleCase(c)); }
            case "isupper" -> { a.check(0); return s.codePoints().anyMatch(Character::isUpperCase) && s.codePoints().noneMatch(Character::isLowerCase); }
            case "format" -> { return Filters.braceFormat(s, a); }
            case "removeprefix" -> { a.check(1); String p = a.strArg(0, "prefix", null); return s.startsWith(p) ? s.substring(p.length()) : s; }
            case "removesuffix" -> { a.check(1); String p = a.strArg(0, "suffix", null); return !p.isEmpty() && s.endsWith(p) ? s.substring(0, s.length() - p.length()) : s; }
            case "partition", "rpartition" -> {
                a.check(1);
                String sep = a.strArg(0, "sep", null);
                if (sep.isEmpty()) throw new JinjaException("ValueError: empty separator", line);
                int at = name.equals("partition") ? s.indexOf(sep) : s.lastIndexOf(sep);
                if (at < 0) return name.equals("partition") ? new Tuple(List.of(s, "", "")) : new Tuple(List.of("", "", s));
                return new Tuple(List.of(s.substring(0, at), sep, s.substring(at + sep.length())));
            }
            case "center", "ljust", "rjust" -> {
                a.check(2);
                long w = a.intArg(0, "width", 0);
                String fill = a.strArg(1, "fillchar", " ");
                return Filters.pad(s, w, fill, name);
            }
            case "zfill" -> {
                a.check(1);
                long w = a.intArg(0, "width", 0);
                long n = length(s, line);
                if (n >= w) return s;
                String zeros = "0".repeat((int) (w - n));
                return !s.isEmpty() && (s.charAt(0) == '-' || s.charAt(0) == '+') ? s.charAt(0) + zeros + s.substring(1) : zeros + s;
            }
            default -> throw new IllegalStateException(name);
        }
    }

    // ---- dict ----

    private static Object dict(Map<Object, Object> m, String name, CallArgs a) {
        int line = a.line();
        switch (name) {
            case "get" -> {
                a.check(2);
                Object k = findKey(m, a.required(0, "key"));
                return k == NO_KEY ? a.get(1, "default", null) : m.get(k);
            }
            case "items" -> {
                a.check(0);
                List<Object> out = new ArrayList<>();
                for (Map.Entry<Object, Object> e : m.entrySet()) out.add(new Tuple(java.util.Arrays.asList(e.getKey(), e.getValue())));
                return new Lazy(out, "dict_items", true);
            }
            case "keys" -> { a.check(0); return new Lazy(new ArrayList<>(m.keySet()), "dict_keys", true); }
            case "values" -> { a.check(0); return new Lazy(new ArrayList<>(m.values()), "dict_values", true); }
            case "update" -> {
                a.check(1);
                if (!a.pos().isEmpty()) {
                    if (!(a.pos().get(0) instanceof Map<?, ?> src)) throw typeError("dict.update() needs a mapping", line);
                    m.putAll(src);
                }
                m.putAll(a.kw());
                return null;
            }
            case "pop" -> {
                a.check(2);
                Object k = findKey(m, a.required(0, "key"));
                if (k != NO_KEY) return m.remove(k);
                if (a.pos().size() > 1) return a.pos().get(1);
                throw new JinjaException("KeyError: " + repr(a.pos().get(0)), line);
            }
            case "setdefault" -> {
                a.check(2);
                Object key = a.required(0, "key");
                Object k = findKey(m, key);
                if (k != NO_KEY) return m.get(k);
                Object d = a.get(1, "default", null);
                m.put(key, d);
                return d;
            }
            case "copy" -> { a.check(0); return new LinkedHashMap<>(m); }
            case "clear" -> { a.check(0); m.clear(); return null; }
            default -> throw new IllegalStateException(name);
        }
    }

    // ---- list ----

    private static Object list(List<Object> l, String name, CallArgs a, boolean mutable) {
        int line = a.line();
        switch (name) {
            case "append" -> { a.check(1); l.add(a.required(0, "object")); return null; }
            case "pop" -> {
                a.check(1);
                if (l.isEmpty()) throw new JinjaException("IndexError: pop from empty list", line);
                long i = a.intArg(0, "index", -1);
                if (i < 0) i += l.size();
                if (i < 0 || i >= l.size()) throw new JinjaException("IndexError: pop index out of range", line);
                return l.remove((int) i);
            }
            case "insert" -> {
                a.check(2);
                long i = a.intArg(0, "index", 0);
                if (i < 0) i = Math.max(0, i + l.size());
                l.add((int) Math.min(i, l.size()), a.required(1, "object"));
                return null;
            }
            case "extend" -> { a.check(1); l.addAll(iterate(a.required(0, "iterable"), line)); return null; }
            case "remove" -> {
                a.check(1);
                Object x = a.required(0, "value");
                for (int i = 0; i < l.size(); i++) if (eq(l.get(i), x)) { l.remove(i); return null; }
                throw new JinjaException("ValueError: list.remove(x): x not in list", line);
            }
            case "index" -> {
                a.check(1);
                Object x = a.required(0, "value");
                for (int i = 0; i < l.size(); i++) if (eq(l.get(i), x)) return (long) i;
                throw new JinjaException("ValueError: " + repr(x) + " is not in list", line);
            }
            case "count" -> {
                a.check(1);
                Object x = a.required(0, "value");
                return l.stream().filter(o -> eq(o, x)).count();
            }
            case "copy" -> { a.check(0); return new ArrayList<>(l); }
            case "reverse" -> { a.check(0); java.util.Collections.reverse(l); return null; }
            case "sort" -> {
                a.check(0, "reverse");
                l.sort((x, y) -> compare(x, y, "<", line));
                if (truthy(a.get(0, "reverse", false))) java.util.Collections.reverse(l);
                return null;
            }
            case "clear" -> { a.check(0); l.clear(); return null; }
            default -> throw new IllegalStateException(name + (mutable ? "" : " on a tuple"));
        }
    }
}
