package dev.jseek.jinja;

import dev.jseek.jinja.Values.Undefined;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The {@code tojson} filter as HF transformers defines it for chat templates: Python's
 * {@code json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)} (non-ASCII text
 * as it is, separators {@code ", "} and {@code ": "} without indent, {@code ","} and {@code ": "} with one).
 */
final class Json {
    private Json() {}

    static String dumps(Object v, Object indent, String itemSep, String keySep, boolean sortKeys, boolean ensureAscii, int line) {
        String ind = indent == null ? null : indent instanceof String s ? s : " ".repeat((int) Math.max(0, Values.asLong(indent)));
        if (itemSep == null) itemSep = ind == null ? ", " : ",";
        if (keySep == null) keySep = ": ";
        StringBuilder b = new StringBuilder();
        write(b, v, ind, itemSep, keySep, sortKeys, ensureAscii, 0, line);
        return b.toString();
    }

    private static void newline(StringBuilder b, String ind, int level) {
        if (ind == null) return;
        b.append('\n');
        for (int i = 0; i < level; i++) b.append(ind);
    }

    private static void write(StringBuilder b, Object v, String ind, String itemSep, String keySep, boolean sortKeys, boolean ascii, int level, int line) {
        v = Values.plain(v);
        if (v == null) b.append("null");
        else if (v instanceof Boolean x) b.append(x ? "true" : "false");
        else if (v instanceof Long x) b.append(x);
        else if (v instanceof Double d) b.append(Double.isNaN(d) ? "NaN" : Double.isInfinite(d) ? (d > 0 ? "Infinity" : "-Infinity") : Values.floatRepr(d));
        else if (v instanceof String s) string(b, s, ascii);
        else if (v instanceof List<?> l) {
            if (l.isEmpty()) { b.append("[]"); return; }
            b.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) b.append(itemSep);
                newline(b, ind, level + 1);
                write(b, l.get(i), ind, itemSep, keySep, sortKeys, ascii, level + 1, line);
            }
            newline(b, ind, level);
            b.append(']');
        } else if (v instanceof Map<?, ?> m) {
            if (m.isEmpty()) { b.append("{}"); return; }
            List<Map.Entry<?, ?>> entries = new ArrayList<>(m.entrySet());
            if (sortKeys) entries.sort((x, y) -> Values.compare(x.getKey(), y.getKey(), "<", line));
            b.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : entries) {
                if (!first) b.append(itemSep);
                first = false;
                newline(b, ind, level + 1);
                Object k = e.getKey();
                String key;
                if (k instanceof String s) key = s;
                else if (k == null) key = "null";
                else if (k instanceof Boolean x) key = x ? "true" : "false";
                else if (k instanceof Long || k instanceof Double) key = Values.str(k);
                else throw Values.typeError("keys must be str, int, float, bool or None, not " + Values.typeName(k), line);
                string(b, key, ascii);
                b.append(keySep);
                write(b, e.getValue(), ind, itemSep, keySep, sortKeys, ascii, level + 1, line);
            }
            newline(b, ind, level);
            b.append('}');
        } else if (v instanceof Undefined u) {
            throw u.error(line);
        } else {
            throw Values.typeError("Object of type " + Values.typeName(v) + " is not JSON serializable", line);
        }
    }

    static void string(StringBuilder b, String s, boolean ascii) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\b' -> b.append("\\b");
                case '\f' -> b.append("\\f");
                default -> {
                    if (c < 0x20 || (ascii && c > 0x7e)) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        b.append('"');
    }
}
