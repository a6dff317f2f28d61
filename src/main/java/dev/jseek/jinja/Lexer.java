package dev.jseek.jinja;

import java.util.ArrayList;
import java.util.List;

/**
 * Template source to tokens, as jinja2's lexer does it with the environment HF transformers uses for chat templates
 * ({@code trim_blocks=True}, {@code lstrip_blocks=True}, {@code keep_trailing_newline=False}):
 * <ul>
 * <li>line breaks {@code \r\n} and {@code \r} become {@code \n}, and one trailing line break is dropped;</li>
 * <li>{@code {{-}, {@code {%-}, {@code {#-} strip all whitespace before the tag; {@code -}}}, {@code -%}},
 *     {@code -#}} all whitespace after it;</li>
 * <li>lstrip_blocks: spaces and tabs between the start of a line and a {@code {%} or {@code {#} tag are dropped
 *     (not before {@code {{}, not with {@code {%+});</li>
 * <li>trim_blocks: one {@code \n} right after {@code %}} or {@code #}} is dropped (not after {@code +%}});</li>
 * <li>a tag ends only where its brackets are balanced, so {@code }}} inside a dict literal does not close it;</li>
 * <li>comments are dropped; {@code {% raw %}...{% endraw %}} is text.</li>
 * </ul>
 */
final class Lexer {
    enum Type { DATA, VAR_BEGIN, VAR_END, BLOCK_BEGIN, BLOCK_END, NAME, STRING, INT, FLOAT, OP, EOF }

    record Token(Type type, String value, int line) {
        boolean is(Type t, String v) { return type == t && value.equals(v); }
        boolean isOp(String v) { return type == Type.OP && value.equals(v); }
        boolean isName(String v) { return type == Type.NAME && value.equals(v); }

        @Override public String toString() {
            return switch (type) {
                case EOF -> "end of template";
                case DATA -> "template text";
                case STRING -> "string '" + value + "'";
                default -> "'" + value + "'";
            };
        }
    }

    private static final String[] OPERATORS = {"//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")",
            "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"};

    private final String src;
    private final List<Token> out = new ArrayList<>();
    private int pos, line = 1;
    private boolean lineStarting = true;

    private Lexer(String source) {
        String s = source.replace("\r\n", "\n").replace('\r', '\n');
        if (s.endsWith("\n")) s = s.substring(0, s.length() - 1);
        this.src = s;
    }

    static List<Token> tokenize(String source) {
        Lexer l = new Lexer(source);
        l.run();
        return l.out;
    }

    /** Python's str.isspace for one code unit (the BMP whitespace set). */
    static boolean isSpace(char c) {
        return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\u001c' && c <= '\u001f') || c == '\u0085' || c == '\u00a0'
                || c == '\u1680' || (c >= '\u2000' && c <= '\u200a') || c == '\u2028' || c == '\u2029' || c == '\u202f'
                || c == '\u205f' || c == '\u3000';
    }

    private static String rstrip(String s) {
        int e = s.length();
        while (e > 0 && isSpace(s.charAt(e - 1))) e--;
        return s.substring(0, e);
    }

    private void run() {
        while (pos < src.length()) {
            int tag = nextTagStart(pos);
            if (tag < 0) {
                data(src.substring(pos), false);
                pos = src.length();
                break;
            }
            String text = src.substring(pos, tag);
            char kind = src.charAt(tag + 1);
            char sign = tag + 2 < src.length() ? src.charAt(tag + 2) : 0;
            if (sign != '-' && sign != '+') sign = 0;
            if (sign == '-') {
                String stripped = rstrip(text);
                data(stripped, false);
                line += count(text.substring(stripped.length()), '\n');
            } else {
                if (sign != '+' && kind != '{') {
                    int lpos = text.lastIndexOf('\n') + 1;
                    if ((lpos > 0 || lineStarting) && allSpace(text, lpos)) text = text.substring(0, lpos);
                }
                data(text, true);
            }
            pos = tag + 2 + (sign != 0 ? 1 : 0);
            switch (kind) {
                case '#' -> comment();
                case '{' -> tag(Type.VAR_BEGIN, Type.VAR_END, "}}");
                default -> {
                    if (!raw(tag)) tag(Type.BLOCK_BEGIN, Type.BLOCK_END, "%}");
                }
            }
        }
        out.add(new Token(Type.EOF, "", line));
    }

    private static boolean allSpace(String s, int from) {
        for (int i = from; i < s.length(); i++) if (!isSpace(s.charAt(i))) return false;
        return true;
    }

    private static int count(String s, char c) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) if (s.charAt(i) == c) n++;
        return n;
    }

    private void data(String text, boolean countLines) {
        if (!text.isEmpty()) out.add(new Token(Type.DATA, text, line));
        if (countLines) line += count(text, '\n');
    }

    private int nextTagStart(int from) {
        for (int i = src.indexOf('{', from); i >= 0 && i + 1 < src.length(); i = src.indexOf('{', i + 1)) {
            char c = src.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') return i;
        }
        return -1;
    }

    /** After the end of a tag: the whitespace stripped by '-', or the newline dropped by trim_blocks. */
    private void afterEnd(int end, char sign, boolean block) {
        pos = end;
        int start = end;
        if (sign == '-') {
            while (pos < src.length() && isSpace(src.charAt(pos))) pos++;
        } else if (sign != '+' && block && pos < src.length() && src.charAt(pos) == '\n') {
            pos++;
        }
        line += count(src.substring(start, pos), '\n');
        lineStarting = pos > start ? src.charAt(pos - 1) == '\n' : false;
    }

    private void comment() {
        int startLine = line;
        for (int i = pos; i + 1 < src.length(); i++) {
            if (src.charAt(i) == '#' && src.charAt(i + 1) == '}') {
                char sign = i > pos && (src.charAt(i - 1) == '-' || src.charAt(i - 1) == '+') ? src.charAt(i - 1) : 0;
                line += count(src.substring(pos, i), '\n');
                afterEnd(i + 2, sign, true);
                return;
            }
        }
        throw new JinjaException("missing end of comment tag", startLine);
    }

    /** A {@code {% raw %}} block at {@code tag}: its text up to {@code {% endraw %}} is data. */
    private boolean raw(int tag) {
        int i = pos;
        while (i < src.length() && isSpace(src.charAt(i))) i++;
        if (!src.startsWith("raw", i)) return false;
        int j = i + 3;
        while (j < src.length() && isSpace(src.charAt(j))) j++;
        char sign = 0;
        if (j < src.length() && (src.charAt(j) == '-' || src.charAt(j) == '+') && src.startsWith("%}", j + 1)) sign = src.charAt(j++);
        if (!src.startsWith("%}", j)) return false;
        int startLine = line;
        int k = j + 2;
        if (sign == '-') while (k < src.length() && isSpace(src.charAt(k))) k++;
        // jinja2 applies no trim_blocks after the raw opening tag
        for (int s = src.indexOf("{%", k); s >= 0; s = src.indexOf("{%", s + 1)) {
            int a = s + 2;
            char endSign = a < src.length() && (src.charAt(a) == '-' || src.charAt(a) == '+') ? src.charAt(a) : 0;
            if (endSign != 0) a++;
            while (a < src.length() && isSpace(src.charAt(a))) a++;
            if (!src.startsWith("endraw", a)) continue;
            int b = a + 6;
            while (b < src.length() && isSpace(src.charAt(b))) b++;
            char closeSign = 0;
            if (b < src.length() && (src.charAt(b) == '-' || src.charAt(b) == '+') && src.startsWith("%}", b + 1)) closeSign = src.charAt(b++);
            if (!src.startsWith("%}", b)) continue;
            String text = src.substring(k, s);
            line += count(src.substring(pos, k), '\n');
            if (endSign == '-') {
                String stripped = rstrip(text);
                data(stripped, false);
                line += count(text, '\n');
            } else {
                if (endSign != '+') {
                    int lpos = text.lastIndexOf('\n') + 1;
                    if (lpos > 0 && allSpace(text, lpos)) text = text.substring(0, lpos);
                }
                data(text, true);
                line += count(src.substring(k + text.length(), s), '\n');
            }
            afterEnd(b + 2, closeSign, true);
            return true;
        }
        throw new JinjaException("missing end of raw directive", startLine);
    }

    private void tag(Type begin, Type end, String close) {
        int startLine = line;
        out.add(new Token(begin, begin == Type.VAR_BEGIN ? "{{" : "{%", line));
        int depth = 0;
        while (true) {
            while (pos < src.length() && isSpace(src.charAt(pos))) {
                if (src.charAt(pos) == '\n') line++;
                pos++;
            }
            if (pos >= src.length())
                throw new JinjaException("unexpected end of template: the tag opened here is not closed with '" + close + "'", startLine);
            if (depth == 0) {
                char c = src.charAt(pos);
                char sign = (c == '-' || c == '+') && src.startsWith(close, pos + 1) ? c : 0;
                if (sign == '+' && end == Type.VAR_END) sign = 0;
                if (sign != 0 || src.startsWith(close, pos)) {
                    out.add(new Token(end, close, line));
                    afterEnd(pos + (sign != 0 ? 1 : 0) + 2, sign, end == Type.BLOCK_END);
                    return;
                }
            }
            char c = src.charAt(pos);
            if (Character.isDigit(c)) number();
            else if (Character.isLetter(c) || c == '_') {
                int s = pos;
                while (pos < src.length() && (Character.isLetterOrDigit(src.charAt(pos)) || src.charAt(pos) == '_')) pos++;
                out.add(new Token(Type.NAME, src.substring(s, pos), line));
            } else if (c == '\'' || c == '"') string(c);
            else {
                String op = null;
                for (String o : OPERATORS) if (src.startsWith(o, pos)) { op = o; break; }
                if (op == null) throw new JinjaException("unexpected character '" + c + "' in a tag", line);
                switch (op) {
                    case "(", "[", "{" -> depth++;
                    case ")", "]", "}" -> {
                        if (depth == 0) throw new JinjaException("unexpected '" + op + "'", line);
                        depth--;
                    }
                    default -> {}
                }
                out.add(new Token(Type.OP, op, line));
                pos += op.length();
            }
        }
    }

    private void number() {
        int s = pos;
        while (pos < src.length() && (Character.isDigit(src.charAt(pos)) || src.charAt(pos) == '_')) pos++;
        boolean isFloat = false;
        if (pos + 1 < src.length() && src.charAt(pos) == '.' && Character.isDigit(src.charAt(pos + 1))) {
            isFloat = true;
            pos++;
            while (pos < src.length() && (Character.isDigit(src.charAt(pos)) || src.charAt(pos) == '_')) pos++;
        }
        if (pos < src.length() && (src.charAt(pos) == 'e' || src.charAt(pos) == 'E')) {
            int e = pos + 1;
            if (e < src.length() && (src.charAt(e) == '+' || src.charAt(e) == '-')) e++;
            if (e < src.length() && Character.isDigit(src.charAt(e))) {
                isFloat = true;
                pos = e;
                while (pos < src.length() && (Character.isDigit(src.charAt(pos)) || src.charAt(pos) == '_')) pos++;
            }
        }
        String text = src.substring(s, pos).replace("_", "");
        out.add(new Token(isFloat ? Type.FLOAT : Type.INT, text, line));
    }

    private void string(char quote) {
        int startLine = line;
        StringBuilder b = new StringBuilder();
        int i = pos + 1;
        while (true) {
            if (i >= src.length()) throw new JinjaException("unexpected end of template in a string literal", startLine);
            char c = src.charAt(i);
            if (c == quote) break;
            if (c == '\n') line++;
            if (c != '\\') {
                b.append(c);
                i++;
                continue;
            }
            if (i + 1 >= src.length()) throw new JinjaException("unexpected end of template in a string literal", startLine);
            char e = src.charAt(i + 1);
            i += 2;
            switch (e) {
                case 'n' -> b.append('\n');
                case 't' -> b.append('\t');
                case 'r' -> b.append('\r');
                case '\\' -> b.append('\\');
                case '\'' -> b.append('\'');
                case '"' -> b.append('"');
                case 'b' -> b.append('\b');
                case 'f' -> b.append('\f');
                case 'v' -> b.append('\u000b');
                case 'a' -> b.append('\u0007');
                case '\n' -> line++;
                case 'x', 'u', 'U' -> {
                    int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    if (i + n > src.length()) throw new JinjaException("truncated \\" + e + " escape in a string literal", line);
                    int cp;
                    try {
                        cp = Integer.parseInt(src.substring(i, i + n), 16);
                    } catch (NumberFormatException ex) {
                        throw new JinjaException("bad \\" + e + " escape in a string literal: " + src.substring(i, i + n), line);
                    }
                    b.appendCodePoint(cp);
                    i += n;
                }
                default -> {
                    if (e >= '0' && e <= '7') {
                        int v = e - '0', k = 1;
                        while (k < 3 && i < src.length() && src.charAt(i) >= '0' && src.charAt(i) <= '7') { v = v * 8 + src.charAt(i++) - '0'; k++; }
                        b.append((char) v);
                    } else {
                        b.append('\\').append(e);
                    }
                }
            }
        }
        pos = i + 1;
        out.add(new Token(Type.STRING, b.toString(), startLine));
    }
}
