package dev.jseek.jinja;

import java.util.List;
import java.util.Map;
import java.util.Set;

/** The arguments of a filter, test, method or global call, read by position or keyword as Python binds them. */
record CallArgs(String fn, List<Object> pos, Map<String, Object> kw, int line) {
    private static final Object MISSING = new Object();

    /** Argument {@code i} (0-based, after the filtered value) or keyword {@code name}, else {@code dflt}. */
    Object get(int i, String name, Object dflt) {
        Object v = find(i, name);
        return v == MISSING ? dflt : v;
    }

    Object required(int i, String name) {
        Object v = find(i, name);
        if (v == MISSING) throw error("missing required argument '" + name + "'");
        return v;
    }

    private Object find(int i, String name) {
        if (i >= 0 && i < pos.size()) {
            if (name != null && kw.containsKey(name)) throw error("got multiple values for argument '" + name + "'");
            return pos.get(i);
        }
        if (name != null && kw.containsKey(name)) return kw.get(name);
        return MISSING;
    }

    /** Refuses more than {@code n} positional arguments and keywords other than {@code names}. */
    CallArgs check(int n, String... names) {
        if (pos.size() > n) throw error("takes at most " + n + " argument(s) (" + pos.size() + " given)");
        Set<String> ok = Set.of(names);
        for (String k : kw.keySet()) if (!ok.contains(k)) throw error("got an unexpected keyword argument '" + k + "'");
        return this;
    }

    long intArg(int i, String name, long dflt) {
        Object v = get(i, name, dflt);
        if (!Values.isInt(v)) throw error("argument '" + name + "' must be an integer, got " + Values.typeName(v));
        return Values.asLong(v);
    }

    String strArg(int i, String name, String dflt) {
        Object v = get(i, name, dflt);
        if (v == null) return null;
        if (!(v instanceof String s)) throw error("argument '" + name + "' must be a string, got " + Values.typeName(v));
        return s;
    }

    /** The arguments with {@link Values.Markup} values as their text. */
    CallArgs plain() {
        List<Object> p = pos.stream().map(Values::plain).toList();
        Map<String, Object> k = new java.util.LinkedHashMap<>();
        kw.forEach((n, v) -> k.put(n, Values.plain(v)));
        return new CallArgs(fn, new java.util.ArrayList<>(p), k, line);
    }

    JinjaException error(String message) { return new JinjaException("TypeError: " + fn + "() " + message, line); }
}
