package dev.jseek.jinja;

import java.math.BigDecimal;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The template values and Python's semantics for them, as jinja2 evaluates templates: none is {@code null}, integers
 * are {@link Long}, floats {@link Double}, booleans {@link Boolean} (numbers too, as in Python), strings {@link String}
 * (lengths, indices and slices count code points), lists mutable {@link ArrayList}s, tuples {@link Tuple}, dicts
 * insertion-ordered {@link LinkedHashMap}s, plus {@link Undefined}, {@link Namespace} and the callables of
 * {@link Interpreter} and {@link Builtins}.
 */
final class Values {
    private Values() {}

    /** jinja2's default Undefined: prints as nothing, is false, iterates as empty; any other use is an error. */
    record Undefined(String hint) {
        JinjaException error(int line) { return new JinjaException(hint, line); }
    }

    /**
     * The result of the {@code safe} and {@code escape} filters (jinja2's Markup, a str subclass): a plain string added
     * to it with {@code +} is HTML-escaped first. Everywhere else it is its text ({@link #plain}).
     */
    record Markup(String text) {}

    /**
     * What Python gives lazily: a generator (the {@code map}, {@code select}, {@code reject}, {@code selectattr},
     * {@code rejectattr}, {@code unique} and {@code items} filters), a reverse iterator, a dict view ({@code .items()},
     * {@code .keys()}, {@code .values()}). It iterates, but it is not JSON, has no items by index, and (unless a view,
     * {@code sized}) no length and is always true.
     */
    record Lazy(List<Object> items, String type, boolean sized) {}

    /** The text of a {@link Markup}; any other value as it is. */
    static Object plain(Object v) { return v instanceof Markup m ? m.text() : v; }

    /** An immutable sequence that prints as {@code (a, b)}. */
    static final class Tuple extends AbstractList<Object> {
        private final List<Object> items;
        Tuple(List<Object> items) { this.items = items; }
        @Override public Object get(int i) { return items.get(i); }
        @Override public int size() { return items.size(); }
    }

    /** {@code namespace(...)}: the one object whose attributes a template may assign ({@code set ns.x = ...}). */
    static final class Namespace {
        final Map<String, Object> attrs = new LinkedHashMap<>();
    }

    static JinjaException typeError(String message, int line) { return new JinjaException("TypeError: " + message, line); }

    /** Python's type name, for messages. */
    static String typeName(Object v) {
        if (v == null) return "NoneType";
        if (v instanceof Boolean) return "bool";
        if (v instanceof Long) return "int";
        if (v instanceof Double) return "float";
        if (v instanceof String) return "str";
        if (v instanceof Tuple) return "tuple";
        if (v instanceof List) return "list";
        if (v instanceof Map) return "dict";
        if (v instanceof Undefined) return "Undefined";
        if (v instanceof Namespace) return "Namespace";
        if (v instanceof Markup) return "Markup";
        if (v instanceof Lazy z) return z.type();
        return "function";
    }

    static boolean truthy(Object v) {
        if (v == null || v instanceof Undefined) return false;
        if (v instanceof Boolean b) return b;
        if (v instanceof Long l) return l != 0;
        if (v instanceof Double d) return d != 0;
        if (v instanceof String s) return !s.isEmpty();
        if (v instanceof List<?> l) return !l.isEmpty();
        if (v instanceof Map<?, ?> m) return !m.isEmpty();
        if (v instanceof Markup m) return !m.text().isEmpty();
        if (v instanceof Lazy z) return !z.sized() || !z.items().isEmpty();
        return true;
    }

    static boolean isNumber(Object v) { return v instanceof Long || v instanceof Double || v instanceof Boolean; }
    static boolean isInt(Object v) { return v instanceof Long || v instanceof Boolean; }

    static long asLong(Object v) { return v instanceof Boolean b ? (b ? 1 : 0) : (Long) v; }
    static double asDouble(Object v) { return v instanceof Double d ? d : asLong(v); }

    /** Python's str(): what {@code {{ v }}} prints. Undefined prints as nothing. */
    static String str(Object v) {
        if (v instanceof String s) return s;
        if (v instanceof Undefined) return "";
        if (v instanceof Markup m) return m.text();
        if (v == null) return "None";
        if (v instanceof Boolean b) return b ? "True" : "False";
        if (v instanceof Long l) return l.toString();
        if (v instanceof Double d) return floatRepr(d);
        return repr(v);
    }

    /** Python's repr(). */
    static String repr(Object v) {
        if (v instanceof String s) return stringRepr(s);
        if (v instanceof Tuple t) {
            StringBuilder b = new StringBuilder("(");
            for (int i = 0; i < t.size(); i++) b.append(i > 0 ? ", " : "").append(repr(t.get(i)));
            return b.append(t.size() == 1 ? ",)" : ")").toString();
        }
        if (v instanceof List<?> l) {
            StringBuilder b = new StringBuilder("[");
            for (int i = 0; i < l.size(); i++) b.append(i > 0 ? ", " : "").append(repr(l.get(i)));
            return b.append(']').toString();
        }
        if (v instanceof Map<?, ?> m) {
            StringBuilder b = new StringBuilder("{");
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                b.append(first ? "" : ", ").append(repr(e.getKey())).append(": ").append(repr(e.getValue()));
                first = false;
            }
            return b.append('}').toString();
        }
        if (v instanceof Namespace n) return "<Namespace " + repr(n.attrs) + ">";
        if (v instanceof Markup m) return "Markup(" + stringRepr(m.text()) + ")";
        if (v instanceof Lazy z) return z.sized() ? z.type() + "(" + repr(z.items()) + ")" : "<" + z.type() + " object>";
        if (v instanceof Undefined) return "Undefined";
        if (v == null || v instanceof Boolean || v instanceof Long || v instanceof Double) return str(v);
        return "<" + typeName(v) + ">";
    }

    private static String stringRepr(String s) {
        char q = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        StringBuilder b = new StringBuilder().append(q);
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            if (cp == q || cp == '\\') b.append('\\').appendCodePoint(cp);
            else if (cp == '\t') b.append("\\t");
            else if (cp == '\n') b.append("\\n");
            else if (cp == '\r') b.append("\\r");
            else if (cp < 0x20 || cp == 0x7f) b.append(String.format("\\x%02x", cp));
            else if (cp < 0x7f || printable(cp)) b.appendCodePoint(cp);
            else if (cp <= 0xff) b.append(String.format("\\x%02x", cp));
            else if (cp <= 0xffff) b.append(String.format("\\u%04x", cp));
            else b.append(String.format("\\U%08x", cp));
        }
        return b.append(q).toString();
    }

    /** Python's str.isprintable for one code point: not a control, format, surrogate, private, unassigned or separator (space aside). */
    private static boolean printable(int cp) {
        if (cp == ' ') return true;
        return switch (Character.getType(cp)) {
            case Character.CONTROL, Character.FORMAT, Character.SURROGATE, Character.PRIVATE_USE, Character.UNASSIGNED,
                 Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR, Character.SPACE_SEPARATOR -> false;
            default -> true;
        };
    }

    /** Python's repr of a float: the shortest digits that read back, fixed notation for exponents -4..15, else 1e+16. */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) return "nan";
        if (Double.isInfinite(d)) return d > 0 ? "inf" : "-inf";
        if (d == 0) return (1 / d < 0) ? "-0.0" : "0.0";
        String sign = d < 0 ? "-" : "";
        BigDecimal bd = shortest(Math.abs(d));
        String digits = bd.unscaledValue().toString();
        int decpt = digits.length() - bd.scale();
        StringBuilder b = new StringBuilder(sign);
        if (decpt <= -4 || decpt > 16) {
            b.append(digits.charAt(0));
            if (digits.length() > 1) b.append('.').append(digits, 1, digits.length());
            int exp = decpt - 1;
            b.append('e').append(exp < 0 ? '-' : '+');
            String e = Integer.toString(Math.abs(exp));
            if (e.length() < 2) b.append('0');
            b.append(e);
        } else if (decpt <= 0) {
            b.append("0.").append("0".repeat(-decpt)).append(digits);
        } else if (decpt >= digits.length()) {
            b.append(digits).append("0".repeat(decpt - digits.length())).append(".0");
        } else {
            b.append(digits, 0, decpt).append('.').append(digits, decpt, digits.length());
        }
        return b.toString();
    }

    /**
     * The shortest decimal that reads back as {@code d}: Java's {@link Double#toString} digits, shortened further where
     * fewer still round-trip (Java keeps two digits for some subnormals, e.g. 4.9E-324 where Python prints 5e-324).
     */
    private static BigDecimal shortest(double d) {
        BigDecimal bd = new BigDecimal(Double.toString(d)).stripTrailingZeros();
        for (int n = 1; n < bd.precision(); n++) {
            BigDecimal r = bd.round(new java.math.MathContext(n, java.math.RoundingMode.HALF_EVEN));
            if (r.doubleValue() == d) return r.stripTrailingZeros();
        }
        return bd;
    }

    /** Python's ==. */
    static boolean eq(Object a, Object b) {
        a = plain(a);
        b = plain(b);
        if (a == b) return true;
        if (a == null || b == null) return false;
        if (isNumber(a) && isNumber(b)) {
            if (isInt(a) && isInt(b)) return asLong(a) == asLong(b);
            return asDouble(a) == asDouble(b);
        }
        if (a instanceof Undefined || b instanceof Undefined) return a instanceof Undefined && b instanceof Undefined;
        if (a instanceof String || b instanceof String) return a.equals(b);
        if (a instanceof List<?> x && b instanceof List<?> y) {
            if ((a instanceof Tuple) != (b instanceof Tuple) || x.size() != y.size()) return false;
            for (int i = 0; i < x.size(); i++) if (!eq(x.get(i), y.get(i))) return false;
            return true;
        }
        if (a instanceof Map<?, ?> x && b instanceof Map<?, ?> y) {
            if (x.size() != y.size()) return false;
            for (Map.Entry<?, ?> e : x.entrySet()) {
                Object k = findKey(y, e.getKey());
                if (k == NO_KEY || !eq(e.getValue(), y.get(k))) return false;
            }
            return true;
        }
        return false;
    }

    static final Object NO_KEY = new Object();

    /** The key of {@code m} equal to {@code key} in Python's sense (1 == 1.0 == True), or NO_KEY. */
    static Object findKey(Map<?, ?> m, Object key) {
        if (m.containsKey(key)) return key;
        if (isNumber(key)) for (Object k : m.keySet()) if (isNumber(k) && eq(k, key)) return k;
        return NO_KEY;
    }

    /** Python's ordering (<, >): numbers, strings by code point, lists and tuples element-wise; else a TypeError. */
    static int compare(Object a, Object b, String op, int line) {
        a = plain(a);
        b = plain(b);
        if (isNumber(a) && isNumber(b)) {
            if (isInt(a) && isInt(b)) return Long.compare(asLong(a), asLong(b));
            double x = asDouble(a), y = asDouble(b);
            return x < y ? -1 : x > y ? 1 : 0;
        }
        if (a instanceof Undefined u) throw u.error(line);
        if (b instanceof Undefined u) throw u.error(line);
        if (a instanceof String x && b instanceof String y) return compareCodePoints(x, y);
        if (a instanceof List<?> x && b instanceof List<?> y && (a instanceof Tuple) == (b instanceof Tuple)) {
            for (int i = 0; i < Math.min(x.size(), y.size()); i++) {
                if (!eq(x.get(i), y.get(i))) return compare(x.get(i), y.get(i), op, line);
            }
            return Integer.compare(x.size(), y.size());
        }
        throw typeError("'" + op + "' not supported between instances of '" + typeName(a) + "' and '" + typeName(b) + "'", line);
    }

    static int compareCodePoints(String x, String y) {
        int i = 0, j = 0;
        while (i < x.length() && j < y.length()) {
            int a = x.codePointAt(i), b = y.codePointAt(j);
            if (a != b) return Integer.compare(a, b);
            i += Character.charCount(a);
            j += Character.charCount(b);
        }
        return Boolean.compare(i < x.length(), j < y.length());
    }

    /** The items a for loop or a filter iterates: a list's items, a dict's keys, a string's characters; undefined: none. */
    static List<Object> iterate(Object v, int line) {
        v = plain(v);
        if (v instanceof Lazy z) return new ArrayList<>(z.items());
        if (v instanceof List<?> l) return new ArrayList<>(l);
        if (v instanceof Map<?, ?> m) return new ArrayList<>(m.keySet());
        if (v instanceof String s) return chars(s);
        if (v instanceof Undefined) return new ArrayList<>();
        throw typeError("'" + typeName(v) + "' object is not iterable", line);
    }

    static List<Object> chars(String s) {
        List<Object> out = new ArrayList<>();
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            out.add(new String(Character.toChars(cp)));
            i += Character.charCount(cp);
        }
        return out;
    }

    /** Python's len(). */
    static long length(Object v, int line) {
        v = plain(v);
        if (v instanceof Lazy z && z.sized()) return z.items().size();
        if (v instanceof String s) return s.codePointCount(0, s.length());
        if (v instanceof List<?> l) return l.size();
        if (v instanceof Map<?, ?> m) return m.size();
        if (v instanceof Undefined) return 0;
        throw typeError("object of type '" + typeName(v) + "' has no len()", line);
    }

    /** Python's {@code x in container}. */
    static boolean contains(Object container, Object x, int line) {
        container = plain(container);
        x = plain(x);
        if (container instanceof Lazy z) container = z.items();
        if (container instanceof String s) {
            if (!(x instanceof String t)) {
                if (x instanceof Undefined u) throw u.error(line);
                throw typeError("'in <string>' requires string as left operand, not " + typeName(x), line);
            }
            return s.contains(t);
        }
        if (container instanceof List<?> l) {
            for (Object o : l) if (eq(o, x)) return true;
            return false;
        }
        if (container instanceof Map<?, ?> m) return findKey(m, x) != NO_KEY;
        if (container instanceof Undefined) return false;
        throw typeError("argument of type '" + typeName(container) + "' is not iterable", line);
    }

    /**
     * A template value from a Java value a caller passes: maps (string keys) and lists are copied into mutable ones,
     * int/short/byte become Long, float Double; anything else is refused.
     */
    static Object fromJava(Object v, String path) {
        if (v == null || v instanceof String || v instanceof Boolean || v instanceof Long || v instanceof Double) return v;
        if (v instanceof Integer || v instanceof Short || v instanceof Byte) return ((Number) v).longValue();
        if (v instanceof Float f) return f.doubleValue();
        if (v instanceof CharSequence cs) return cs.toString();
        if (v instanceof Map<?, ?> m) {
            Map<Object, Object> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : m.entrySet()) out.put(fromJava(e.getKey(), path), fromJava(e.getValue(), path + "." + e.getKey()));
            return out;
        }
        if (v instanceof Iterable<?> it) {
            List<Object> out = new ArrayList<>();
            int i = 0;
            for (Iterator<?> x = it.iterator(); x.hasNext(); i++) out.add(fromJava(x.next(), path + "[" + i + "]"));
            return out;
        }
        throw new IllegalArgumentException("template variable " + path + ": a " + v.getClass().getName()
                + " is not a template value (strings, numbers, booleans, null, lists and maps are)");
    }

    /** Python's slice semantics over a sequence of {@code n} items: the selected indices. */
    static int[] sliceIndices(int n, Object start, Object stop, Object step, int line) {
        long st = step == null ? 1 : asIndex(step, line);
        if (st == 0) throw new JinjaException("ValueError: slice step cannot be zero", line);
        long lo, hi;
        if (st > 0) {
            lo = start == null ? 0 : clamp(asIndex(start, line), n, 0, n);
            hi = stop == null ? n : clamp(asIndex(stop, line), n, 0, n);
        } else {
            lo = start == null ? n - 1 : clamp(asIndex(start, line), n, -1, n - 1);
            hi = stop == null ? -1 : clamp(asIndex(stop, line), n, -1, n - 1);
        }
        List<Integer> idx = new ArrayList<>();
        if (st > 0) for (long i = lo; i < hi; i += st) idx.add((int) i);
        else for (long i = lo; i > hi; i += st) idx.add((int) i);
        return idx.stream().mapToInt(Integer::intValue).toArray();
    }

    private static long clamp(long i, int n, long min, long max) {
        if (i < 0) i += n;
        return Math.max(min, Math.min(max, i));
    }

    private static long asIndex(Object v, int line) {
        if (isInt(v)) return asLong(v);
        throw typeError("slice indices must be integers or None, not " + typeName(v), line);
    }
}
