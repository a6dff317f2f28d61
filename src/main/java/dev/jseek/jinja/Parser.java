package dev.jseek.jinja;

import dev.jseek.jinja.Expr.Args;
import dev.jseek.jinja.Lexer.Token;
import dev.jseek.jinja.Lexer.Type;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Tokens to the statement tree, with jinja2's grammar and precedence (lowest first): conditional expression
 * ({@code a if b else c}), {@code or}, {@code and}, {@code not}, comparisons ({@code == != < <= > >= in, not in}),
 * {@code + -}, {@code ~}, {@code * / // %}, {@code **}, unary {@code - +}, then postfix ({@code .attr}, {@code [key]},
 * calls) and filters / tests, which bind tighter than any operator ({@code -x | abs} is {@code abs(-x)},
 * {@code a + b | upper} is {@code a + upper(b)}).
 */
final class Parser {
    private static final Set<String> COMPARE = Set.of("==", "!=", "<", "<=", ">", ">=");

    private final List<Token> tokens;
    private int p;
    /** For loops around the statement being parsed (a macro body starts again at 0): break and continue need one. */
    private int loops;

    private Parser(List<Token> tokens) { this.tokens = tokens; }

    static List<Node> parse(String source) {
        Parser ps = new Parser(Lexer.tokenize(source));
        List<Node> body = ps.subparse(Set.of());
        if (ps.cur().type() != Type.EOF) throw ps.fail("unexpected " + ps.cur(), ps.cur().line());
        return body;
    }

    private Token cur() { return tokens.get(p); }
    private Token peek(int k) { return tokens.get(Math.min(p + k, tokens.size() - 1)); }
    private Token next() { return tokens.get(p++); }

    private static JinjaException fail(String message, int line) { return new JinjaException(message, line); }

    private Token expectOp(String op) {
        Token t = cur();
        if (!t.isOp(op)) throw fail("expected '" + op + "', got " + t, t.line());
        return next();
    }

    private String expectName() {
        Token t = cur();
        if (t.type() != Type.NAME) throw fail("expected a name, got " + t, t.line());
        return next().value();
    }

    private void expectBlockEnd() {
        Token t = cur();
        if (t.type() != Type.BLOCK_END) throw fail("expected the end of the statement block ('%}'), got " + t, t.line());
        next();
    }

    private boolean skipName(String name) {
        if (cur().isName(name)) { p++; return true; }
        return false;
    }

    /**
     * Statements until a block tag whose keyword is in {@code end} (left unconsumed, positioned on the keyword) or the
     * end of the template (an error when {@code end} is not empty).
     */
    private List<Node> subparse(Set<String> end) {
        List<Node> body = new ArrayList<>();
        while (true) {
            Token t = cur();
            switch (t.type()) {
                case DATA -> { body.add(new Node.Text(t.value())); p++; }
                case VAR_BEGIN -> {
                    p++;
                    Expr e = tuple(true, false, Set.of());
                    if (cur().type() != Type.VAR_END) throw fail("expected the end of the print statement ('}}'), got " + cur(), cur().line());
                    p++;
                    body.add(new Node.Output(e));
                }
                case BLOCK_BEGIN -> {
                    p++;
                    Token kw = cur();
                    if (kw.type() == Type.NAME && end.contains(kw.value())) return body;
                    body.add(statement());
                }
                case EOF -> {
                    if (!end.isEmpty())
                        throw fail("unexpected end of template: a block is not closed (expected " + String.join(" or ", end) + ")", t.line());
                    return body;
                }
                default -> throw fail("unexpected " + t, t.line());
            }
        }
    }

    private Node statement() {
        Token kw = cur();
        if (kw.type() != Type.NAME) throw fail("tag name expected, got " + kw, kw.line());
        int line = kw.line();
        p++;
        return switch (kw.value()) {
            case "if" -> parseIf();
            case "for" -> parseFor(line);
            case "set" -> parseSet(line);
            case "macro" -> parseMacro(line);
            case "filter" -> {
                List<Expr.Filter> fs = filterChain(null);
                expectBlockEnd();
                List<Node> body = subparse(Set.of("endfilter"));
                p++;
                expectBlockEnd();
                yield new Node.FilterBlock(fs, body, line);
            }
            case "generation" -> {
                expectBlockEnd();
                List<Node> body = subparse(Set.of("endgeneration"));
                p++;
                expectBlockEnd();
                yield new Node.Block(body);
            }
            case "with" -> parseWith(line);
            case "break", "continue" -> {
                // jinja2 compiles a loop control outside a loop body to a Python SyntaxError, whether or not it would run
                if (loops == 0) throw fail("'" + kw.value() + "' outside a for loop", line);
                expectBlockEnd();
                yield kw.value().equals("break") ? new Node.Break(line) : new Node.Continue(line);
            }
            default -> throw fail("unknown or unsupported tag '" + kw.value() + "' (jseek's Jinja renders chat templates: "
                    + "if, for, set, macro, filter, with, break, continue, raw, generation)", line);
        };
    }

    private Node parseIf() {
        List<Expr> tests = new ArrayList<>();
        List<List<Node>> bodies = new ArrayList<>();
        List<Node> orElse = List.of();
        tests.add(tuple(false, false, Set.of()));
        expectBlockEnd();
        while (true) {
            bodies.add(subparse(Set.of("elif", "else", "endif")));
            String k = next().value();
            if (k.equals("elif")) {
                tests.add(tuple(false, false, Set.of()));
                expectBlockEnd();
            } else if (k.equals("else")) {
                expectBlockEnd();
                orElse = subparse(Set.of("endif"));
                p++;
                expectBlockEnd();
                break;
            } else {
                expectBlockEnd();
                break;
            }
        }
        return new Node.If(tests, bodies, orElse);
    }

    private Node parseFor(int line) {
        Node.Target target = assignTarget(Set.of("in"), false);
        if (!skipName("in")) throw fail("expected 'in' in the for loop, got " + cur(), cur().line());
        Expr iter = tuple(false, false, Set.of("recursive"));
        Expr filter = null;
        if (skipName("if")) filter = expression(true);
        if (cur().isName("recursive")) throw fail("recursive for loops are not supported", cur().line());
        expectBlockEnd();
        loops++;
        List<Node> body;
        try {
            body = subparse(Set.of("endfor", "else"));
        } finally {
            loops--;
        }
        List<Node> orElse = List.of();
        if (next().value().equals("else")) {
            expectBlockEnd();
            orElse = subparse(Set.of("endfor"));
            p++;
        }
        expectBlockEnd();
        return new Node.For(target, iter, filter, body, orElse, line);
    }

    private Node parseWith(int line) {
        List<Node.Target> targets = new ArrayList<>();
        List<Expr> values = new ArrayList<>();
        while (cur().type() != Type.BLOCK_END) {
            if (!targets.isEmpty()) expectOp(",");
            targets.add(singleTarget(false));
            expectOp("=");
            values.add(expression(true));
        }
        expectBlockEnd();
        List<Node> body = subparse(Set.of("endwith"));
        p++;
        expectBlockEnd();
        return new Node.With(targets, values, body, line);
    }

    private Node parseSet(int line) {
        Node.Target target = assignTarget(Set.of(), true);
        if (cur().isOp("=")) {
            p++;
            Expr value = tuple(true, false, Set.of());
            expectBlockEnd();
            return new Node.Set(target, value, line);
        }
        List<Expr.Filter> fs = List.of();
        if (cur().isOp("|")) {
            p++;
            fs = filterChain(null);
        }
        expectBlockEnd();
        List<Node> body = subparse(Set.of("endset"));
        p++;
        expectBlockEnd();
        return new Node.SetBlock(target, fs, body, line);
    }

    /** A name, {@code ns.attr} (when allowed), or a comma-separated tuple of names, optionally parenthesized. */
    private Node.Target assignTarget(Set<String> endNames, boolean allowAttr) {
        List<Node.Target> items = new ArrayList<>();
        boolean tuple = false;
        while (true) {
            if (!items.isEmpty()) expectOp(",");
            if (cur().type() == Type.NAME && endNames.contains(cur().value())) break;
            if (cur().type() == Type.BLOCK_END || cur().isOp("=") || cur().isOp(")")) break;
            items.add(singleTarget(allowAttr));
            if (cur().isOp(",")) tuple = true;
            else break;
        }
        if (items.isEmpty()) throw fail("expected a name to assign to, got " + cur(), cur().line());
        return tuple ? new Node.TupleTarget(items) : items.get(0);
    }

    private Node.Target singleTarget(boolean allowAttr) {
        if (cur().isOp("(")) {
            p++;
            Node.Target t = assignTarget(Set.of(), false);
            expectOp(")");
            return t instanceof Node.TupleTarget ? t : new Node.TupleTarget(List.of(t));
        }
        int line = cur().line();
        String name = expectName();
        if (allowAttr && cur().isOp(".")) {
            p++;
            return new Node.AttrTarget(name, expectName());
        }
        if (Set.of("true", "false", "none", "True", "False", "None").contains(name)) throw fail("cannot assign to '" + name + "'", line);
        return new Node.NameTarget(name);
    }

    private Node parseMacro(int line) {
        String name = expectName();
        expectOp("(");
        List<String> params = new ArrayList<>();
        List<Expr> defaults = new ArrayList<>();
        while (!cur().isOp(")")) {
            if (!params.isEmpty()) expectOp(",");
            if (cur().isOp(")")) break;
            String param = expectName();
            params.add(param);
            if (cur().isOp("=")) {
                p++;
                defaults.add(expression(true));
            } else if (!defaults.isEmpty()) {
                throw fail("macro " + name + ": parameter '" + param + "' without a default after one with a default", line);
            }
        }
        p++;
        expectBlockEnd();
        int outer = loops;
        loops = 0;
        List<Node> body;
        try {
            body = subparse(Set.of("endmacro"));
        } finally {
            loops = outer;
        }
        p++;
        if (cur().type() == Type.NAME && cur().value().equals(name)) p++;
        expectBlockEnd();
        return new Node.Macro(name, params, defaults, body, line);
    }

    /**
     * jinja2's parse_tuple: expressions separated by commas make a tuple; one expression without a comma is itself.
     * {@code condExpr} false: no {@code a if b else c} at the top (for-loop iterables and if tests, where {@code if}
     * means something else).
     */
    private Expr tuple(boolean condExpr, boolean explicitParens, Set<String> endNames) {
        int line = cur().line();
        List<Expr> items = new ArrayList<>();
        boolean isTuple = false;
        while (true) {
            if (!items.isEmpty()) expectOp(",");
            if (tupleEnd(endNames)) break;
            items.add(expression(condExpr));
            if (cur().isOp(",")) isTuple = true;
            else break;
        }
        if (!isTuple) {
            if (!items.isEmpty()) return items.get(0);
            if (!explicitParens) throw fail("expected an expression, got " + cur(), cur().line());
        }
        return new Expr.TupleLit(items, line);
    }

    private boolean tupleEnd(Set<String> endNames) {
        Token t = cur();
        if (t.type() == Type.VAR_END || t.type() == Type.BLOCK_END || t.type() == Type.EOF || t.isOp(")")) return true;
        return t.type() == Type.NAME && endNames.contains(t.value());
    }

    private Expr expression(boolean condExpr) { return condExpr ? condExpr() : or(); }

    private Expr condExpr() {
        int line = cur().line();
        Expr e = or();
        while (skipName("if")) {
            Expr test = or();
            Expr otherwise = skipName("else") ? condExpr() : null;
            e = new Expr.Cond(test, e, otherwise, line);
            line = cur().line();
        }
        return e;
    }

    /**
     * A left-associative level of binary operators: operands from {@code operand}, joined by any of {@code ops}
     * (operator tokens, or the keywords {@code and} / {@code or}).
     */
    private Expr leftAssoc(java.util.function.Supplier<Expr> operand, Set<String> ops) {
        Expr left = operand.get();
        while ((cur().type() == Type.OP || cur().type() == Type.NAME) && ops.contains(cur().value())) {
            Token op = next();
            left = new Expr.Binary(op.value(), left, operand.get(), op.line());
        }
        return left;
    }

    private Expr or() { return leftAssoc(this::and, Set.of("or")); }

    private Expr and() { return leftAssoc(this::not, Set.of("and")); }

    private Expr not() {
        if (cur().isName("not")) {
            int line = next().line();
            return new Expr.Unary("not", not(), line);
        }
        return compare();
    }

    private Expr compare() {
        int line = cur().line();
        Expr first = math1();
        List<String> ops = new ArrayList<>();
        List<Expr> rest = new ArrayList<>();
        while (true) {
            Token t = cur();
            if (t.type() == Type.OP && COMPARE.contains(t.value())) {
                p++;
                ops.add(t.value());
            } else if (t.isName("in")) {
                p++;
                ops.add("in");
            } else if (t.isName("not") && peek(1).isName("in")) {
                p += 2;
                ops.add("notin");
            } else break;
            rest.add(math1());
        }
        return ops.isEmpty() ? first : new Expr.Compare(first, ops, rest, line);
    }

    private Expr math1() { return leftAssoc(this::concat, Set.of("+", "-")); }

    private Expr concat() { return leftAssoc(this::math2, Set.of("~")); }

    private Expr math2() { return leftAssoc(this::pow, Set.of("*", "/", "//", "%")); }

    private Expr pow() { return leftAssoc(() -> unary(true), Set.of("**")); }

    private Expr unary(boolean withFilter) {
        Token t = cur();
        Expr node;
        if (t.isOp("-") || t.isOp("+")) {
            p++;
            node = new Expr.Unary(t.value(), unary(false), t.line());
        } else {
            node = primary();
        }
        node = postfix(node);
        if (withFilter) node = filterExpr(node);
        return node;
    }

    private Expr primary() {
        Token t = cur();
        switch (t.type()) {
            case NAME -> {
                p++;
                return switch (t.value()) {
                    case "true", "True" -> new Expr.Const(Boolean.TRUE, t.line());
                    case "false", "False" -> new Expr.Const(Boolean.FALSE, t.line());
                    case "none", "None" -> new Expr.Const(null, t.line());
                    default -> new Expr.Name(t.value(), t.line());
                };
            }
            case STRING -> {
                StringBuilder b = new StringBuilder();
                while (cur().type() == Type.STRING) b.append(next().value());
                return new Expr.Const(b.toString(), t.line());
            }
            case INT -> {
                p++;
                try {
                    return new Expr.Const(Long.parseLong(t.value()), t.line());
                } catch (NumberFormatException e) {
                    throw fail("integer literal out of range: " + t.value(), t.line());
                }
            }
            case FLOAT -> {
                p++;
                return new Expr.Const(Double.parseDouble(t.value()), t.line());
            }
            default -> {}
        }
        if (t.isOp("(")) {
            p++;
            Expr e = tuple(true, true, Set.of());
            expectOp(")");
            return e;
        }
        if (t.isOp("[")) {
            p++;
            List<Expr> items = new ArrayList<>();
            while (!cur().isOp("]")) {
                if (!items.isEmpty()) expectOp(",");
                if (cur().isOp("]")) break;
                items.add(expression(true));
            }
            p++;
            return new Expr.ListLit(items, t.line());
        }
        if (t.isOp("{")) {
            p++;
            List<Expr> keys = new ArrayList<>(), values = new ArrayList<>();
            while (!cur().isOp("}")) {
                if (!keys.isEmpty()) expectOp(",");
                if (cur().isOp("}")) break;
                keys.add(expression(true));
                expectOp(":");
                values.add(expression(true));
            }
            p++;
            return new Expr.DictLit(keys, values, t.line());
        }
        throw fail("unexpected " + t, t.line());
    }

    private Expr postfix(Expr node) {
        while (true) {
            Token t = cur();
            if (t.isOp(".")) {
                p++;
                Token a = next();
                if (a.type() == Type.NAME) node = new Expr.GetAttr(node, a.value(), t.line());
                else if (a.type() == Type.INT) node = new Expr.GetItem(node, new Expr.Const(Long.parseLong(a.value()), a.line()), t.line());
                else throw fail("expected a name or number after '.', got " + a, a.line());
            } else if (t.isOp("[")) {
                p++;
                List<Expr> args = new ArrayList<>();
                while (!cur().isOp("]")) {
                    if (!args.isEmpty()) expectOp(",");
                    args.add(subscribed(node, t.line()));
                }
                p++;
                if (args.isEmpty()) throw fail("expected a subscript expression", t.line());
                if (args.size() == 1 && args.get(0) instanceof Expr.Slice s) node = s;
                else if (args.size() == 1) node = new Expr.GetItem(node, args.get(0), t.line());
                else node = new Expr.GetItem(node, new Expr.TupleLit(args, t.line()), t.line());
            } else if (t.isOp("(")) {
                node = new Expr.Call(node, callArgs(), t.line());
            } else {
                return node;
            }
        }
    }

    /** One subscript: an expression, or a slice {@code [start]:[stop][:[step]]} of {@code obj}. */
    private Expr subscribed(Expr obj, int line) {
        Expr start = null;
        if (cur().isOp(":")) {
            p++;
        } else {
            Expr e = expression(true);
            if (!cur().isOp(":")) return e;
            p++;
            start = e;
        }
        Expr stop = null, step = null;
        if (!cur().isOp(":") && !cur().isOp("]") && !cur().isOp(",")) stop = expression(true);
        if (cur().isOp(":")) {
            p++;
            if (!cur().isOp("]") && !cur().isOp(",")) step = expression(true);
        }
        return new Expr.Slice(obj, start, stop, step, line);
    }

    private Args callArgs() {
        expectOp("(");
        List<Expr> pos = new ArrayList<>();
        List<String> names = new ArrayList<>();
        List<Expr> named = new ArrayList<>();
        while (!cur().isOp(")")) {
            if (!pos.isEmpty() || !names.isEmpty()) expectOp(",");
            if (cur().isOp(")")) break;
            if (cur().isOp("*") || cur().isOp("**")) throw fail("*args and **kwargs in calls are not supported", cur().line());
            if (cur().type() == Type.NAME && peek(1).isOp("=")) {
                names.add(next().value());
                p++;
                named.add(expression(true));
            } else {
                if (!names.isEmpty()) throw fail("a positional argument after a keyword argument", cur().line());
                pos.add(expression(true));
            }
        }
        p++;
        return new Args(pos, names, named);
    }

    private Expr filterExpr(Expr node) {
        while (true) {
            Token t = cur();
            if (t.isOp("|")) {
                node = filterChain(node).getLast();
            } else if (t.isName("is")) {
                node = test(node);
            } else if (t.isOp("(")) {
                node = new Expr.Call(node, callArgs(), t.line());
            } else {
                return node;
            }
        }
    }

    /** One or more {@code | name(args)} applied to {@code value} (null in filter blocks): each filter of the chain. */
    private List<Expr.Filter> filterChain(Expr value) {
        List<Expr.Filter> out = new ArrayList<>();
        boolean first = value == null;
        do {
            int line = cur().line();
            if (!first) expectOp("|");
            first = false;
            String name = expectName();
            while (cur().isOp(".")) { p++; name += "." + expectName(); }
            Args args = cur().isOp("(") ? callArgs() : Args.NONE;
            Expr.Filter f = new Expr.Filter(value, name, args, line);
            out.add(f);
            value = f;
        } while (cur().isOp("|"));
        return out;
    }

    private Expr test(Expr node) {
        int line = next().line();
        boolean negated = skipName("not");
        String name = expectName();
        while (cur().isOp(".")) { p++; name += "." + expectName(); }
        Args args;
        Token t = cur();
        boolean argStart = t.type() == Type.NAME || t.type() == Type.STRING || t.type() == Type.INT || t.type() == Type.FLOAT
                || t.isOp("[") || t.isOp("{");
        if (t.isOp("(")) {
            args = callArgs();
        } else if (argStart && !t.isName("else") && !t.isName("or") && !t.isName("and")) {
            if (t.isName("is")) throw fail("cannot chain tests with 'is'", t.line());
            args = new Args(List.of(postfix(primary())), List.of(), List.of());
        } else {
            args = Args.NONE;
        }
        return new Expr.Test(node, name, args, negated, line);
    }
}
