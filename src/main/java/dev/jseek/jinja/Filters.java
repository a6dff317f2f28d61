package dev.jseek.jinja;

import dev.jseek.jinja.Values.Lazy;
import dev.jseek.jinja.Values.Markup;
import dev.jseek.jinja.Values.Tuple;
import dev.jseek.jinja.Values.Undefined;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.jseek.jinja.Values.*;

/** jinja2's built-in filters (the ones chat templates use), plus transformers' {@code tojson}. */
final class Filters {
    private Filters() {}

    private static final Set<String> NAMES = Set.of("abs", "attr", "batch", "capitalize", "truncate", "center", "count", "d", "default", "dictsort", "e",
            "escape", "first", "float", "forceescape", "format", "indent", "int", "items", "join", "last", "length", "list", "lower",
            "map", "max", "min", "reject", "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "sort",
            "string", "sum", "title", "tojson", "trim", "unique", "upper", "wordcount");

    static boolean exists(String name) { return NAMES.contains(name); }

    /** Filters whose result keeps a {@link Markup} input marked (jinja2 runs them on the Markup itself). */
    private static final Set<String> KEEP_MARKUP = Set.of("trim", "lower", "upper", "capitalize", "title");

    static Object apply(String name, Object v, CallArgs a) {
        switch (name) {
            case "safe" -> { a.check(0); return v instanceof Markup ? v : new Markup(str(v)); }
            case "escape", "e" -> { a.check(0); return v instanceof Markup ? v : new Markup(escape(str(v))); }
            case "forceescape" -> { a.check(0); return new Markup(escape(str(v))); }
            case "string" -> { a.check(0); return v instanceof Markup ? v : str(v); }
            case "default", "d" -> {}
            default -> {
                boolean marked = v instanceof Markup;
                Object r = applyPlain(name, plain(v), a.plain());
                return marked && KEEP_MARKUP.contains(name) && r instanceof String t ? new Markup(t) : r;
            }
        }
        return applyPlain(name, v, a);
    }

    private static Object applyPlain(String name, Object v, CallArgs a) {
        int line = a.line();
        switch (name) {
            case "default", "d" -> {
                a.check(2, "default_value", "boolean");
                Object dflt = a.get(0, "default_value", "");
                boolean bool = truthy(a.get(1, "boolean", false));
                return v instanceof Undefined || (bool && !truthy(v)) ? dflt : v;
            }
            case "length", "count" -> { a.check(0); return length(v, line); }
            case "trim" -> { a.check(1, "chars"); return Methods.strip(str(v), a.strArg(0, "chars", null), true, true); }
            case "lower" -> { a.check(0); return Methods.lower(str(v)); }
            case "upper" -> { a.check(0); return Methods.upper(str(v)); }
            case "capitalize" -> { a.check(0); return Methods.capitalize(str(v)); }
            case "title" -> { a.check(0); return title(str(v)); }
            case "replace" -> {
                a.check(3, "old", "new", "count");
                Object c = a.get(2, "count", null);
                return replace(str(v), str(a.required(0, "old")), str(a.required(1, "new")), c == null ? -1 : asLong(c), line);
            }
            case "wordcount" -> {
                a.check(0);
                Matcher m = Pattern.compile("\\w+", Pattern.UNICODE_CHARACTER_CLASS).matcher(str(v));
                long n = 0;
                while (m.find()) n++;
                return n;
            }
            case "center" -> { a.check(1, "width"); return pad(str(v), a.intArg(0, "width", 80), " ", "center"); }
            case "indent" -> { a.check(3, "width", "first", "blank"); return indent(str(v), a); }
            case "tojson" -> {
                a.check(1, "indent", "ensure_ascii", "separators", "sort_keys");
                Object seps = a.get(-1, "separators", null);
                String itemSep = null, keySep = null;
                if (seps != null) {
                    List<Object> s = iterate(seps, line);
                    if (s.size() != 2) throw a.error("separators must be a pair");
                    itemSep = str(s.get(0));
                    keySep = str(s.get(1));
                }
                return Json.dumps(v, a.get(0, "indent", null), itemSep, keySep, truthy(a.get(-1, "sort_keys", false)),
                        truthy(a.get(-1, "ensure_ascii", false)), line);
            }
            case "int" -> { a.check(2, "default", "base"); return toInt(v, a.get(0, "default", 0L), a.intArg(1, "base", 10)); }
            case "float" -> { a.check(1, "default"); return toFloat(v, a.get(0, "default", 0.0)); }
            case "abs" -> {
                a.check(0);
                if (v instanceof Double d) return Math.abs(d);
                if (isInt(v)) return Math.abs(asLong(v));
                throw typeError("bad operand type for abs(): '" + typeName(v) + "'", line);
            }
            case "round" -> { a.check(2, "precision", "method"); return round(v, a); }
            case "list" -> { a.check(0); return iterate(v, line); }
            case "first" -> {
                a.check(0);
                List<Object> l = iterate(v, line);
                return l.isEmpty() ? new Undefined("No first item, sequence was empty.") : l.get(0);
            }
            case "last" -> {
                a.check(0);
                List<Object> l = iterate(v, line);
                return l.isEmpty() ? new Undefined("No last item, sequence was empty.") : l.get(l.size() - 1);
            }
            case "reverse" -> {
                a.check(0);
                if (v instanceof String s) {
                    List<Object> cs = chars(s);
                    java.util.Collections.reverse(cs);
                    return String.join("", cs.stream().map(Object::toString).toList());
                }
                List<Object> l = iterate(v, line);
                java.util.Collections.reverse(l);
                // reversed() of a list or dict is an iterator; of anything else jinja2 builds a list
                return v instanceof List || v instanceof Map ? new Lazy(l, v instanceof Map ? "dict_reversekeyiterator" : "list_reverseiterator", false) : l;
            }
            case "join" -> {
                a.check(2, "d", "attribute");
                String sep = str(a.get(0, "d", ""));
                Object attr = a.get(1, "attribute", null);
                StringBuilder b = new StringBuilder();
                boolean first = true;
                for (Object o : iterate(v, line)) {
                    if (!first) b.append(sep);
                    b.append(str(attr == null ? o : attribute(o, attr, line)));
                    first = false;
                }
                return b.toString();
            }
            case "items" -> {
                a.check(0);
                if (v instanceof Undefined) return new ArrayList<>();
                if (!(v instanceof Map<?, ?> m)) throw typeError("Can only get item pairs from a mapping.", line);
                List<Object> out = new ArrayList<>();
                for (Map.Entry<?, ?> e : m.entrySet()) out.add(new Tuple(java.util.Arrays.asList(e.getKey(), e.getValue())));
                return new Lazy(out, "generator", false);
            }
            case "dictsort" -> {
                a.check(3, "case_sensitive", "by", "reverse");
                if (!(v instanceof Map<?, ?> m)) throw typeError("dictsort needs a mapping", line);
                boolean cs = truthy(a.get(0, "case_sensitive", false));
                String by = str(a.get(1, "by", "key"));
                int pos = by.equals("key") ? 0 : by.equals("value") ? 1 : -1;
                if (pos < 0) throw new JinjaException("FilterArgumentError: You can only sort by either \"key\" or \"value\"", line);
                List<Object> out = new ArrayList<>();
                for (Map.Entry<?, ?> e : m.entrySet()) out.add(new Tuple(java.util.Arrays.asList(e.getKey(), e.getValue())));
                out.sort((x, y) -> compare(sortKey(((Tuple) x).get(pos), cs), sortKey(((Tuple) y).get(pos), cs), "<", line));
                if (truthy(a.get(2, "reverse", false))) java.util.Collections.reverse(out);
                return out;
            }
            case "sort" -> {
                a.check(3, "reverse", "case_sensitive", "attribute");
                boolean rev = truthy(a.get(0, "reverse", false)), cs = truthy(a.get(1, "case_sensitive", false));
                Object attr = a.get(2, "attribute", null);
                List<Object> l = iterate(v, line);
                Comparator<Object> c = (x, y) -> compare(sortKey(attr == null ? x : attribute(x, attr, line), cs),
                        sortKey(attr == null ? y : attribute(y, attr, line), cs), "<", line);
                l.sort(rev ? c.reversed() : c);
                return l;
            }
            case "unique" -> {
                a.check(2, "case_sensitive", "attribute");
                boolean cs = truthy(a.get(0, "case_sensitive", false));
                Object attr = a.get(1, "attribute", null);
                List<Object> out = new ArrayList<>(), seen = new ArrayList<>();
                for (Object o : iterate(v, line)) {
                    Object k = sortKey(attr == null ? o : attribute(o, attr, line), cs);
                    if (seen.stream().noneMatch(s -> eq(s, k))) { seen.add(k); out.add(o); }
                }
                return new Lazy(out, "generator", false);
            }
            case "min", "max" -> {
                a.check(2, "case_sensitive", "attribute");
                boolean cs = truthy(a.get(0, "case_sensitive", false));
                Object attr = a.get(1, "attribute", null);
                Object best = null;
                boolean any = false;
                for (Object o : iterate(v, line)) {
                    if (!any) { best = o; any = true; continue; }
                    int c = compare(sortKey(attr == null ? o : attribute(o, attr, line), cs), sortKey(attr == null ? best : attribute(best, attr, line), cs), "<", line);
                    if (name.equals("min") ? c < 0 : c > 0) best = o;
                }
                return any ? best : new Undefined("No aggregated item, sequence was empty.");
            }
            case "sum" -> {
                a.check(2, "attribute", "start");
                Object attr = a.get(0, "attribute", null);
                Object total = a.get(1, "start", 0L);
                for (Object o : iterate(v, line)) total = Builtins.arithmetic("+", total, attr == null ? o : attribute(o, attr, line), line);
                return total;
            }
            case "attr" -> { a.check(1); return Interpreter.getattr(v, str(a.required(0, "name")), line); }
            case "batch" -> {
                a.check(2, "linecount", "fill_with");
                long n = a.intArg(0, "linecount", 0);
                if (n < 1) throw new JinjaException("ValueError: batch size must be at least 1, got " + n, line);
                Object fill = a.get(1, "fill_with", null);
                boolean padded = a.pos().size() > 1 || a.kw().containsKey("fill_with");
                List<Object> out = new ArrayList<>(), cur = new ArrayList<>();
                for (Object o : iterate(v, line)) {
                    cur.add(o);
                    if (cur.size() == n) { out.add(cur); cur = new ArrayList<>(); }
                }
                if (!cur.isEmpty()) {
                    if (padded) while (cur.size() < n) cur.add(fill);
                    out.add(cur);
                }
                return new Lazy(out, "generator", false);
            }
            case "truncate" -> {
                // jinja2's do_truncate with the default policy truncate.leeway = 5
                a.check(4, "length", "killwords", "end", "leeway");
                String t = str(v), end = str(a.get(2, "end", "..."));
                long length = a.intArg(0, "length", 255), leeway = a.get(3, "leeway", null) == null ? 5 : a.intArg(3, "leeway", 5);
                if (length < end.length()) throw new JinjaException("AssertionError: expected length >= " + end.length() + ", got " + length, line);
                if (leeway < 0) throw new JinjaException("AssertionError: expected leeway >= 0, got " + leeway, line);
                List<Object> cs = chars(t);
                if (cs.size() <= length + leeway) return t;
                String head = String.join("", cs.subList(0, (int) (length - end.length())).stream().map(Object::toString).toList());
                if (truthy(a.get(1, "killwords", false))) return head + end;
                int sp = head.lastIndexOf(' ');
                return (sp < 0 ? head : head.substring(0, sp)) + end;
            }
            case "map" -> {
                List<Object> out = new ArrayList<>();
                Lazy gen = new Lazy(out, "generator", false);
                if (a.pos().isEmpty() && a.kw().containsKey("attribute")) {
                    a.check(0, "attribute", "default");
                    Object attr = a.kw().get("attribute");
                    if (!truthy(v)) return gen;
                    for (Object o : iterate(v, line)) {
                        Object x = attribute(o, attr, line);
                        if (x instanceof Undefined && a.kw().containsKey("default")) x = a.kw().get("default");
                        out.add(x);
                    }
                    return gen;
                }
                if (a.pos().isEmpty()) throw a.error("map requires a filter argument");
                String f = str(a.pos().get(0));
                CallArgs rest = new CallArgs(f, a.pos().subList(1, a.pos().size()), a.kw(), line);
                if (!truthy(v)) return gen;
                for (Object o : iterate(v, line)) out.add(apply(f, o, rest));
                return gen;
            }
            case "select", "reject" -> {
                List<Object> out = new ArrayList<>();
                String test = a.pos().isEmpty() ? null : str(a.pos().get(0));
                List<Object> targs = a.pos().isEmpty() ? List.of() : a.pos().subList(1, a.pos().size());
                if (truthy(v)) for (Object o : iterate(v, line)) {
                    boolean r = test == null ? truthy(o) : Builtins.test(test, o, targs, line);
                    if (r == name.equals("select")) out.add(o);
                }
                return new Lazy(out, "generator", false);
            }
            case "selectattr", "rejectattr" -> {
                if (a.pos().isEmpty()) throw a.error("missing attribute argument");
                Object attr = a.pos().get(0);
                String test = a.pos().size() > 1 ? str(a.pos().get(1)) : null;
                List<Object> targs = a.pos().size() > 2 ? a.pos().subList(2, a.pos().size()) : List.of();
                List<Object> out = new ArrayList<>();
                if (truthy(v)) for (Object o : iterate(v, line)) {
                    Object x = attribute(o, attr, line);
                    boolean r = test == null ? truthy(x) : Builtins.test(test, x, targs, line);
                    if (r == name.equals("selectattr")) out.add(o);
                }
                return new Lazy(out, "generator", false);
            }
            case "format" -> {
                String s = str(v);
                if (!a.pos().isEmpty() && !a.kw().isEmpty()) throw new JinjaException("FilterArgumentError: can't handle positional and keyword arguments at the same time", line);
                Object args = !a.kw().isEmpty() ? new LinkedHashMap<Object, Object>(a.kw()) : new Tuple(new ArrayList<>(a.pos()));
                return percentFormat(s, args, line);
            }
            default -> throw new JinjaException("no filter named '" + name + "'", line);
        }
    }

    /** jinja2's attribute lookup for filters: a dotted path ({@code "function.name"}) or an integer index. */
    private static Object attribute(Object o, Object attr, int line) {
        if (isInt(attr)) return Interpreter.getitem(o, attr, line);
        Object cur = o;
        for (String part : str(attr).split("\\.")) {
            if (part.matches("\\d+")) cur = Interpreter.getitem(cur, Long.parseLong(part), line);
            else cur = Interpreter.getitem(cur, part, line);
        }
        return cur;
    }

    private static Object sortKey(Object v, boolean caseSensitive) {
        return !caseSensitive && v instanceof String s ? Methods.lower(s) : v;
    }

    static String escape(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&#34;");
                case '\'' -> b.append("&#39;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    /** jinja2's title filter: each word (split at whitespace, '-', brackets) starts upper case, the rest lower. */
    private static String title(String s) {
        StringBuilder b = new StringBuilder();
        Matcher m = Pattern.compile("([-\\s({\\[<]+)").matcher(s);
        int last = 0;
        while (m.find()) {
            titleWord(b, s.substring(last, m.start()));
            titleWord(b, m.group());
            last = m.end();
        }
        titleWord(b, s.substring(last));
        return b.toString();
    }

    private static void titleWord(StringBuilder b, String w) {
        if (w.isEmpty()) return;
        int cp = w.codePointAt(0);
        b.append(Methods.upper(new String(Character.toChars(cp)))).append(Methods.lower(w.substring(Character.charCount(cp))));
    }

    static String replace(String s, String old, String neu, long count, int line) {
        if (count < 0) count = Long.MAX_VALUE;
        if (old.isEmpty()) {
            StringBuilder b = new StringBuilder();
            List<Object> cs = chars(s);
            long n = 0;
            for (Object c : cs) {
                if (n < count) { b.append(neu); n++; }
                b.append((String) c);
            }
            if (n < count) b.append(neu);
            return b.toString();
        }
        StringBuilder b = new StringBuilder();
        int from = 0;
        for (long n = 0; n < count; n++) {
            int at = s.indexOf(old, from);
            if (at < 0) break;
            b.append(s, from, at).append(neu);
            from = at + old.length();
        }
        return b.append(s.substring(from)).toString();
    }

    static String pad(String s, long width, String fill, String how) {
        long n = s.codePointCount(0, s.length());
        if (n >= width) return s;
        int total = (int) (width - n);
        int left = switch (how) {
            case "ljust" -> 0;
            case "rjust" -> total;
            default -> total / 2 + (total & (int) width & 1);
        };
        return fill.repeat(left) + s + fill.repeat(total - left);
    }

    private static String indent(String s, CallArgs a) {
        Object w = a.get(0, "width", 4L);
        String ind = w instanceof String x ? x : " ".repeat((int) Math.max(0, asLong(w)));
        boolean first = truthy(a.get(1, "first", false)), blank = truthy(a.get(2, "blank", false));
        s = s + "\n";
        List<Object> lines = Methods.splitlines(s, false);
        String rv;
        if (blank) {
            rv = String.join("\n" + ind, lines.stream().map(Object::toString).toList());
        } else {
            StringBuilder b = new StringBuilder((String) lines.get(0));
            for (int i = 1; i < lines.size(); i++) {
                String l = (String) lines.get(i);
                b.append('\n').append(l.isEmpty() ? l : ind + l);
            }
            rv = b.toString();
        }
        return first ? ind + rv : rv;
    }

    private static Object toInt(Object v, Object dflt, long base) {
        if (isInt(v)) return asLong(v);
        if (v instanceof Double d) return Double.isFinite(d) ? (long) (double) d : dflt;
        if (v instanceof String s) {
            String t = Methods.strip(s, null, true, true).replace("_", "");
            try {
                if (base == 16 && (t.startsWith("0x") || t.startsWith("0X"))) t = t.substring(2);
                return Long.parseLong(t, (int) base);
            } catch (NumberFormatException e) {
                try {
                    double d = Double.parseDouble(t);
                    return Double.isFinite(d) ? (long) d : dflt;
                } catch (NumberFormatException e2) {
                    return dflt;
                }
            }
        }
        return dflt;
    }

    private static Object toFloat(Object v, Object dflt) {
        if (isNumber(v)) return asDouble(v);
        if (v instanceof String s) {
            String t = Methods.strip(s, null, true, true);
            try {
                if (t.equalsIgnoreCase("inf") || t.equalsIgnoreCase("infinity") || t.equalsIgnoreCase("+inf")) return Double.POSITIVE_INFINITY;
                if (t.equalsIgnoreCase("-inf") || t.equalsIgnoreCase("-infinity")) return Double.NEGATIVE_INFINITY;
                if (t.equalsIgnoreCase("nan")) return Double.NaN;
                if (!t.matches("[+-]?(\\d[\\d_]*)?(\\.\\d*)?([eE][+-]?\\d+)?") || t.matches("[+-]?\\.?")) return dflt;
                return Double.parseDouble(t.replace("_", ""));
            } catch (NumberFormatException e) {
                return dflt;
            }
        }
        return dflt;
    }

    private static Object round(Object v, CallArgs a) {
        long precision = a.intArg(0, "precision", 0);
        String method = str(a.get(1, "method", "common"));
        if (!Set.of("common", "ceil", "floor").contains(method)) throw new JinjaException("FilterArgumentError: method must be common, ceil or floor", a.line());
        if (!isNumber(v)) throw typeError("type " + typeName(v) + " doesn't define __round__ method", a.line());
        if (method.equals("common")) {
            if (isInt(v)) return asLong(v);
            double d = asDouble(v);
            if (!Double.isFinite(d)) return d;
            return new BigDecimal(d).setScale((int) precision, RoundingMode.HALF_EVEN).doubleValue();
        }
        double f = Math.pow(10, precision), d = asDouble(v) * f;
        return (method.equals("ceil") ? Math.ceil(d) : Math.floor(d)) / f;
    }

    /** Python's {@code "..." % args} for the conversions templates use: %s %r %d %i %f %x %%. */
    static String percentFormat(String s, Object args, int line) {
        Map<?, ?> named = args instanceof Map<?, ?> m ? m : null;
        List<Object> values = args instanceof Tuple t ? new ArrayList<>(t) : new ArrayList<>(java.util.Collections.singletonList(args));
        StringBuilder b = new StringBuilder();
        int k = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != '%') { b.append(c); continue; }
            if (++i >= s.length()) throw new JinjaException("ValueError: incomplete format", line);
            Object val;
            if (s.charAt(i) == '(' && named != null) {
                int close = s.indexOf(')', i);
                val = named.get(s.substring(i + 1, close));
                i = close + 1;
            } else if (s.charAt(i) == '%') {
                b.append('%');
                continue;
            } else {
                if (k >= values.size()) throw typeError("not enough arguments for format string", line);
                val = values.get(k++);
            }
            int specStart = i;
            while (i < s.length() && "0123456789.-+ #".indexOf(s.charAt(i)) >= 0) i++;
            String spec = s.substring(specStart, i);
            char conv = s.charAt(i);
            switch (conv) {
                case 's' -> b.append(String.format("%" + spec + "s", str(val)));
                case 'r' -> b.append(String.format("%" + spec + "s", repr(val)));
                case 'd', 'i' -> b.append(String.format("%" + spec + "d", isInt(val) ? asLong(val) : (long) asDouble(val)));
                case 'f', 'F', 'e', 'g' -> b.append(String.format("%" + (spec.contains(".") ? spec : spec + ".6") + conv, asDouble(val)));
                case 'x', 'X' -> b.append(String.format("%" + spec + conv, asLong(val)));
                default -> throw new JinjaException("ValueError: unsupported format character '" + conv + "'", line);
            }
        }
        if (named == null && k < values.size() && args instanceof Tuple) throw typeError("not all arguments converted during string formatting", line);
        return b.toString();
    }

    /** Python's str.format: {@code {}}, {@code {0}}, {@code {name}} fields, optionally with a format spec ({@link #formatSpec}). */
    static String braceFormat(String s, CallArgs a) {
        StringBuilder b = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '{' && i + 1 < s.length() && s.charAt(i + 1) == '{') { b.append('{'); i++; continue; }
            if (c == '}' && i + 1 < s.length() && s.charAt(i + 1) == '}') { b.append('}'); i++; continue; }
            if (c == '}') throw new JinjaException("ValueError: Single '}' encountered in format string", a.line());
            if (c != '{') { b.append(c); continue; }
            int close = s.indexOf('}', i);
            if (close < 0) throw new JinjaException("ValueError: Single '{' encountered in format string", a.line());
            String field = s.substring(i + 1, close), spec = "";
            int colon = field.indexOf(':');
            if (colon >= 0) { spec = field.substring(colon + 1); field = field.substring(0, colon); }
            if (field.contains("!")) throw new JinjaException("str.format: conversions (!r, !s) are not supported: {" + field + "}", a.line());
            Object val;
            if (field.isEmpty()) val = a.required(auto++, "arg" + (auto - 1));
            else if (field.matches("\\d+")) val = a.required(Integer.parseInt(field), "arg" + field);
            else if (a.kw().containsKey(field)) val = a.kw().get(field);
            else throw new JinjaException("KeyError: '" + field + "'", a.line());
            b.append(formatSpec(val, spec, a.line()));
            i = close;
        }
        return b.toString();
    }

    private static final Pattern SPEC = Pattern.compile("(?:(.)?([<>=^]))?([+\\- ])?(0)?(\\d+)?(,)?(?:\\.(\\d+))?([sdfFeEgGxXob%])?");

    /** Python's format(value, spec) for the standard mini-language: [[fill]align][sign][0][width][,][.precision][type]. */
    static String formatSpec(Object v, String spec, int line) {
        if (spec.isEmpty()) return str(v);
        Matcher m = SPEC.matcher(spec);
        if (!m.matches()) throw new JinjaException("ValueError: Invalid format specifier '" + spec + "'", line);
        String fill = m.group(1) != null ? m.group(1) : m.group(4) != null && m.group(2) == null ? "0" : " ";
        String align = m.group(2) != null ? m.group(2) : m.group(4) != null ? "=" : null;
        String sign = m.group(3) == null ? "-" : m.group(3);
        int width = m.group(5) == null ? 0 : Integer.parseInt(m.group(5));
        boolean comma = m.group(6) != null;
        Integer prec = m.group(7) == null ? null : Integer.valueOf(m.group(7));
        String type = m.group(8);
        String body;
        boolean numeric = isNumber(v);
        boolean negative = false;
        if (v instanceof String || v == null || !numeric) {
            if (type != null && !type.equals("s")) throw new JinjaException("ValueError: Unknown format code '" + type + "' for object of type '" + typeName(v) + "'", line);
            body = str(v);
            if (prec != null) body = body.substring(0, Math.min(body.length(), prec));
            if (align == null) align = "<";
        } else {
            if (type == null) type = v instanceof Double ? (prec == null ? "r" : "g") : "d";
            double d = asDouble(v);
            negative = d < 0 || (d == 0 && 1 / d < 0 && v instanceof Double);
            switch (type) {
                case "d" -> {
                    if (!isInt(v)) throw new JinjaException("ValueError: Unknown format code 'd' for object of type 'float'", line);
                    body = Long.toString(Math.abs(asLong(v)));
                }
                case "x", "X", "o", "b" -> {
                    if (!isInt(v)) throw new JinjaException("ValueError: Unknown format code '" + type + "' for object of type 'float'", line);
                    long x = Math.abs(asLong(v));
                    body = switch (type) { case "x" -> Long.toHexString(x); case "X" -> Long.toHexString(x).toUpperCase(java.util.Locale.ROOT);
                        case "o" -> Long.toOctalString(x); default -> Long.toBinaryString(x); };
                }
                case "r" -> body = floatRepr(Math.abs(d));
                case "%" -> body = String.format(java.util.Locale.ROOT, "%." + (prec == null ? 6 : prec) + "f", Math.abs(d) * 100) + "%";
                case "g", "G" -> {
                    body = floatG(Math.abs(d), prec == null ? 6 : Math.max(1, prec));
                    if (type.equals("G")) body = body.toUpperCase(java.util.Locale.ROOT);
                }
                default -> {
                    String f = String.format(java.util.Locale.ROOT, "%." + (prec == null ? 6 : prec) + (type.equals("F") ? "f" : type), Math.abs(d));
                    body = f;
                }
            }
            if (comma) {
                int dot = body.indexOf('.');
                String intPart = dot < 0 ? body : body.substring(0, dot);
                if (intPart.matches("\\d+")) {
                    StringBuilder g = new StringBuilder();
                    for (int k = 0; k < intPart.length(); k++) {
                        if (k > 0 && (intPart.length() - k) % 3 == 0) g.append(',');
                        g.append(intPart.charAt(k));
                    }
                    body = g + (dot < 0 ? "" : body.substring(dot));
                }
            }
            if (align == null) align = ">";
        }
        String signStr = !numeric || (v instanceof String) ? "" : negative ? "-" : sign.equals("+") ? "+" : sign.equals(" ") ? " " : "";
        int padN = width - body.codePointCount(0, body.length()) - signStr.length();
        if (padN <= 0) return signStr + body;
        String padding = fill.repeat(padN);
        return switch (align) {
            case "<" -> signStr + body + padding;
            case "^" -> fill.repeat(padN / 2) + signStr + body + fill.repeat(padN - padN / 2);
            case "=" -> signStr + padding + body;
            default -> padding + signStr + body;
        };
    }

    /** Python's 'g' presentation: precision significant digits, trailing zeros dropped, exponent when it is < -4 or >= precision. */
    private static String floatG(double d, int prec) {
        if (d == 0) return "0";
        if (!Double.isFinite(d)) return Double.isNaN(d) ? "nan" : "inf";
        BigDecimal bd = new BigDecimal(d).round(new java.math.MathContext(prec, RoundingMode.HALF_EVEN));
        int exp = bd.precision() - bd.scale() - 1;
        if (exp < -4 || exp >= prec) {
            String mant = bd.movePointLeft(exp).stripTrailingZeros().toPlainString();
            return mant + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
        }
        String plain = bd.toPlainString();
        if (plain.contains(".")) plain = plain.replaceAll("0+$", "").replaceAll("\\.$", "");
        return plain;
    }
}
