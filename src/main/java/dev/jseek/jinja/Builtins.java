package dev.jseek.jinja;

import dev.jseek.jinja.Interpreter.Callable;
import dev.jseek.jinja.Values.Markup;
import dev.jseek.jinja.Values.Namespace;
import dev.jseek.jinja.Values.Tuple;
import dev.jseek.jinja.Values.Undefined;
import java.math.BigInteger;
import java.time.LocalDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static dev.jseek.jinja.Values.*;

/**
 * The environment chat templates render in: the globals ({@code range}, {@code dict}, {@code namespace},
 * {@code raise_exception}, {@code strftime_now}), the tests ({@code is defined}, ...), the operators with Python's
 * semantics, and the entry points to {@link Filters} and {@link Methods}.
 */
final class Builtins {
    private Builtins() {}

    /** jinja2's sandbox limit on range(). */
    private static final long MAX_RANGE = 100_000;

    static void globals(Map<String, Object> g, LocalDateTime now) {
        g.put("range", (Callable) (args, kw, line) -> range(new CallArgs("range", args, kw, line)));
        g.put("dict", (Callable) (args, kw, line) -> {
            Map<Object, Object> m = new LinkedHashMap<>();
            if (args.size() > 1) throw new JinjaException("TypeError: dict expected at most 1 argument, got " + args.size(), line);
            if (args.size() == 1) {
                if (args.get(0) instanceof Map<?, ?> src) m.putAll(src);
                else for (Object pair : iterate(args.get(0), line)) {
                    List<Object> kv = iterate(pair, line);
                    if (kv.size() != 2) throw new JinjaException("ValueError: dictionary update sequence element has length " + kv.size() + "; 2 is required", line);
                    m.put(kv.get(0), kv.get(1));
                }
            }
            m.putAll(kw);
            return m;
        });
        g.put("namespace", (Callable) (args, kw, line) -> {
            Namespace ns = new Namespace();
            for (Object a : args) {
                if (!(a instanceof Map<?, ?> m)) throw new JinjaException("TypeError: namespace() takes mappings and keyword arguments", line);
                for (Map.Entry<?, ?> e : m.entrySet()) ns.attrs.put(str(e.getKey()), e.getValue());
            }
            ns.attrs.putAll(kw);
            return ns;
        });
        g.put("raise_exception", (Callable) (args, kw, line) -> {
            throw new JinjaException.Raised(args.isEmpty() ? "raise_exception() called" : str(args.get(0)), line);
        });
        g.put("strftime_now", (Callable) (args, kw, line) -> strftime(new CallArgs("strftime_now", args, kw, line).check(1).strArg(0, "format", null), now, line));
    }

    private static Object range(CallArgs a) {
        a.check(3);
        long start = 0, stop, step = 1;
        if (a.pos().size() == 1) stop = a.intArg(0, "stop", 0);
        else {
            start = a.intArg(0, "start", 0);
            stop = a.intArg(1, "stop", 0);
            step = a.pos().size() > 2 ? a.intArg(2, "step", 1) : 1;
        }
        if (a.pos().isEmpty()) throw a.error("expected at least 1 argument, got 0");
        if (step == 0) throw new JinjaException("ValueError: range() arg 3 must not be zero", a.line());
        long n = step > 0 ? Math.max(0, (stop - start + step - 1) / step) : Math.max(0, (start - stop - step - 1) / -step);
        if (n > MAX_RANGE) throw new JinjaException("OverflowError: range too big, maximum size for range is " + MAX_RANGE, a.line());
        List<Object> out = new ArrayList<>();
        for (long i = 0; i < n; i++) out.add(start + i * step);
        return out;
    }

    /** Python's datetime.strftime for the codes chat templates use (and glibc's {@code %-d} style no-padding flag). */
    static String strftime(String fmt, LocalDateTime t, int line) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < fmt.length(); i++) {
            char c = fmt.charAt(i);
            if (c != '%' || i + 1 >= fmt.length()) { b.append(c); continue; }
            char f = fmt.charAt(++i);
            boolean pad = true;
            if (f == '-' && i + 1 < fmt.length()) { pad = false; f = fmt.charAt(++i); }
            int hour12 = t.getHour() % 12 == 0 ? 12 : t.getHour() % 12;
            switch (f) {
                case 'Y' -> b.append(t.getYear());
                case 'y' -> b.append(num(t.getYear() % 100, 2, pad));
                case 'm' -> b.append(num(t.getMonthValue(), 2, pad));
                case 'd' -> b.append(num(t.getDayOfMonth(), 2, pad));
                case 'e' -> b.append(pad ? String.format("%2d", t.getDayOfMonth()) : Integer.toString(t.getDayOfMonth()));
                case 'H' -> b.append(num(t.getHour(), 2, pad));
                case 'I' -> b.append(num(hour12, 2, pad));
                case 'M' -> b.append(num(t.getMinute(), 2, pad));
                case 'S' -> b.append(num(t.getSecond(), 2, pad));
                case 'f' -> b.append(String.format("%06d", t.getNano() / 1000));
                case 'j' -> b.append(num(t.getDayOfYear(), 3, pad));
                case 'p' -> b.append(t.getHour() < 12 ? "AM" : "PM");
                case 'a' -> b.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.US));
                case 'A' -> b.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.US));
                case 'b', 'h' -> b.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.US));
                case 'B' -> b.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.US));
                case 'w' -> b.append(t.getDayOfWeek().getValue() % 7);
                case 'u' -> b.append(t.getDayOfWeek().getValue());
                case 'F' -> b.append(String.format("%d-%02d-%02d", t.getYear(), t.getMonthValue(), t.getDayOfMonth()));
                case 'T' -> b.append(String.format("%02d:%02d:%02d", t.getHour(), t.getMinute(), t.getSecond()));
                case 'D' -> b.append(String.format("%02d/%02d/%02d", t.getMonthValue(), t.getDayOfMonth(), t.getYear() % 100));
                case 'R' -> b.append(String.format("%02d:%02d", t.getHour(), t.getMinute()));
                case 'z', 'Z' -> {}
                case '%' -> b.append('%');
                default -> throw new JinjaException("ValueError: strftime_now: unsupported format code '%" + f + "'", line);
            }
        }
        return b.toString();
    }

    private static String num(int v, int width, boolean pad) {
        String s = Integer.toString(v);
        return pad && s.length() < width ? "0".repeat(width - s.length()) + s : s;
    }

    // ---- operators ----

    static Object arithmetic(String op, Object a, Object b, int line) {
        if (op.equals("~")) return str(a) + str(b);
        if (a instanceof Undefined u) throw u.error(line);
        if (b instanceof Undefined u) throw u.error(line);
        if (op.equals("+") && (a instanceof Markup || b instanceof Markup)) {
            // Markup + str escapes the plain string (jinja2's Markup.__add__ / __radd__)
            if (!(plain(a) instanceof String) || !(plain(b) instanceof String))
                throw typeError("unsupported operand type(s) for +: '" + typeName(a) + "' and '" + typeName(b) + "'", line);
            String x = a instanceof Markup m ? m.text() : Filters.escape((String) a);
            String y = b instanceof Markup m ? m.text() : Filters.escape((String) b);
            return new Markup(x + y);
        }
        a = plain(a);
        b = plain(b);
        boolean nums = isNumber(a) && isNumber(b), ints = isInt(a) && isInt(b);
        switch (op) {
            case "+" -> {
                if (ints) return exact(BigInteger.valueOf(asLong(a)).add(BigInteger.valueOf(asLong(b))), line);
                if (nums) return asDouble(a) + asDouble(b);
                if (a instanceof String x && b instanceof String y) return x + y;
                if (a instanceof List<?> x && b instanceof List<?> y && (a instanceof Tuple) == (b instanceof Tuple)) {
                    List<Object> out = new ArrayList<>(x);
                    out.addAll(y);
                    return a instanceof Tuple ? new Tuple(out) : out;
                }
            }
            case "-" -> {
                if (ints) return exact(BigInteger.valueOf(asLong(a)).subtract(BigInteger.valueOf(asLong(b))), line);
                if (nums) return asDouble(a) - asDouble(b);
            }
            case "*" -> {
                if (ints) return exact(BigInteger.valueOf(asLong(a)).multiply(BigInteger.valueOf(asLong(b))), line);
                if (nums) return asDouble(a) * asDouble(b);
                if (isInt(b) && (a instanceof String || a instanceof List)) return repeat(a, asLong(b), line);
                if (isInt(a) && (b instanceof String || b instanceof List)) return repeat(b, asLong(a), line);
            }
            case "/" -> {
                if (nums) {
                    if (asDouble(b) == 0) throw new JinjaException("ZeroDivisionError: division by zero", line);
                    return asDouble(a) / asDouble(b);
                }
            }
            case "//" -> {
                if (nums && asDouble(b) == 0) throw new JinjaException("ZeroDivisionError: integer division or modulo by zero", line);
                if (ints) return Math.floorDiv(asLong(a), asLong(b));
                if (nums) return Math.floor(asDouble(a) / asDouble(b));
            }
            case "%" -> {
                if (a instanceof String s) return Filters.percentFormat(s, b, line);
                if (nums && asDouble(b) == 0) throw new JinjaException("ZeroDivisionError: integer division or modulo by zero", line);
                if (ints) return Math.floorMod(asLong(a), asLong(b));
                if (nums) {
                    double x = asDouble(a), y = asDouble(b), r = x % y;
                    return r != 0 && (r < 0) != (y < 0) ? r + y : r;
                }
            }
            case "**" -> {
                if (ints && asLong(b) >= 0) return exact(BigInteger.valueOf(asLong(a)).pow((int) Math.min(asLong(b), 10_000)), line);
                if (nums) return Math.pow(asDouble(a), asDouble(b));
            }
            default -> throw new IllegalStateException(op);
        }
        if (op.equals("+") && a instanceof String) throw typeError("can only concatenate str (not \"" + typeName(b) + "\") to str", line);
        throw typeError("unsupported operand type(s) for " + op + ": '" + typeName(a) + "' and '" + typeName(b) + "'", line);
    }

    private static Object exact(BigInteger v, int line) {
        if (v.bitLength() > 63) throw new JinjaException("OverflowError: integer out of jseek's 64-bit range", line);
        return v.longValue();
    }

    private static Object repeat(Object seq, long n, int line) {
        long size = seq instanceof String s0 ? s0.length() : ((List<?>) seq).size();
        if (n > 0 && size * (double) n > Interpreter.MAX_CHARS)
            throw new JinjaException("a sequence repeated to more than " + Interpreter.MAX_CHARS + " items: jseek stops it there", line);
        if (seq instanceof String s) return n <= 0 ? "" : s.repeat((int) n);
        List<?> l = (List<?>) seq;
        List<Object> out = new ArrayList<>();
        for (long i = 0; i < n; i++) out.addAll(l);
        return seq instanceof Tuple ? new Tuple(out) : out;
    }

    // ---- tests ----

    static boolean test(String name, Object v, List<Object> args, int line) {
        v = plain(v);
        CallArgs a = new CallArgs("test " + name, args, Map.of(), line).plain();
        return switch (name) {
            case "defined" -> !(v instanceof Undefined);
            case "undefined" -> v instanceof Undefined;
            case "none" -> v == null;
            case "boolean" -> v instanceof Boolean;
            case "true" -> Boolean.TRUE.equals(v);
            case "false" -> Boolean.FALSE.equals(v);
            case "integer" -> v instanceof Long;
            case "float" -> v instanceof Double;
            case "number" -> isNumber(v);
            case "string" -> v instanceof String;
            case "mapping" -> v instanceof Map;
            case "sequence" -> v instanceof String || v instanceof List || v instanceof Map || v instanceof Undefined;
            case "iterable" -> v instanceof String || v instanceof List || v instanceof Map || v instanceof Undefined;
            case "callable" -> v instanceof Callable;
            case "sameas" -> {
                Object o = a.required(0, "other");
                yield v == o || (v instanceof Boolean && v.equals(o)) || (v == null && o == null);
            }
            case "eq", "equalto", "==" -> eq(v, a.required(0, "other"));
            case "ne", "!=" -> !eq(v, a.required(0, "other"));
            case "lt", "lessthan", "<" -> compare(v, a.required(0, "other"), "<", line) < 0;
            case "le", "<=" -> compare(v, a.required(0, "other"), "<=", line) <= 0;
            case "gt", "greaterthan", ">" -> compare(v, a.required(0, "other"), ">", line) > 0;
            case "ge", ">=" -> compare(v, a.required(0, "other"), ">=", line) >= 0;
            case "in" -> contains(a.required(0, "seq"), v, line);
            case "odd" -> intOf(v, line) % 2 != 0;
            case "even" -> intOf(v, line) % 2 == 0;
            case "divisibleby" -> {
                long d = intOf(a.required(0, "num"), line);
                if (d == 0) throw new JinjaException("ZeroDivisionError: integer division or modulo by zero", line);
                yield intOf(v, line) % d == 0;
            }
            case "lower" -> { String s = str(v); yield s.equals(Methods.lower(s)); }
            case "upper" -> { String s = str(v); yield s.equals(Methods.upper(s)); }
            case "escaped" -> false;
            case "filter" -> Filters.exists(str(a.required(0, "name")));
            case "test" -> isTest(str(v));
            default -> throw new JinjaException("no test named '" + name + "'", line);
        };
    }

    private static boolean isTest(String name) {
        return List.of("defined", "undefined", "none", "boolean", "true", "false", "integer", "float", "number", "string", "mapping",
                "sequence", "iterable", "callable", "sameas", "eq", "equalto", "==", "ne", "!=", "lt", "lessthan", "<", "le", "<=", "gt",
                "greaterthan", ">", "ge", ">=", "in", "odd", "even", "divisibleby", "lower", "upper", "escaped", "filter", "test").contains(name);
    }

    private static long intOf(Object v, int line) {
        if (isInt(v)) return asLong(v);
        if (v instanceof Undefined u) throw u.error(line);
        throw typeError("an integer is required, not '" + typeName(v) + "'", line);
    }

    // ---- dispatch ----

    static Object filter(String name, Object value, List<Object> args, Map<String, Object> kwargs, int line) {
        return Filters.apply(name, value, new CallArgs(name, args, kwargs, line));
    }

    static boolean hasMethod(Object obj, String name) { return Methods.has(obj, name); }

    static Object method(Object self, String name, List<Object> args, Map<String, Object> kwargs, int line) {
        return Methods.call(self, name, new CallArgs(name, args, kwargs, line));
    }
}
