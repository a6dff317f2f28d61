package dev.jseek.jinja;

import dev.jseek.jinja.Values.Namespace;
import dev.jseek.jinja.Values.Tuple;
import dev.jseek.jinja.Values.Undefined;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.jseek.jinja.Values.*;

/**
 * Renders a statement tree. Scopes follow jinja2's: a for loop's body and a macro call get their own scope (a
 * {@code set} inside does not change the variable outside; a {@link Namespace}'s attributes do), if blocks do not.
 */
final class Interpreter {
    /** How a statement list ended: normally, or by {@code break} / {@code continue} inside a loop. */
    private enum Flow { NORMAL, BREAK, CONTINUE }

    static final class Scope {
        final Map<String, Object> vars = new HashMap<>();
        final Scope parent;
        Scope(Scope parent) { this.parent = parent; }

        Object lookup(String name) {
            for (Scope s = this; s != null; s = s.parent) {
                Object v = s.vars.get(name);
                if (v != null || s.vars.containsKey(name)) return v;
            }
            return new Undefined("'" + name + "' is undefined");
        }
    }

    /** A callable value: globals, macros, bound methods, {@code loop.cycle}. */
    interface Callable {
        Object call(List<Object> args, Map<String, Object> kwargs, int line);
    }

    /** A method of a value ({@code s.strip}, {@code d.get}, {@code l.append}), called through {@link Builtins#method}. */
    record BoundMethod(Object self, String name) implements Callable {
        @Override public Object call(List<Object> args, Map<String, Object> kwargs, int line) {
            return Builtins.method(self, name, args, kwargs, line);
        }
    }

    /** The {@code loop} variable of a for loop. */
    static final class Loop {
        final List<Object> items;
        int index0;
        Loop(List<Object> items) { this.items = items; }

        Object attr(String name) {
            int n = items.size();
            return switch (name) {
                case "index" -> (long) index0 + 1;
                case "index0" -> (long) index0;
                case "revindex" -> (long) (n - index0);
                case "revindex0" -> (long) (n - index0 - 1);
                case "first" -> index0 == 0;
                case "last" -> index0 == n - 1;
                case "length" -> (long) n;
                case "depth" -> 1L;
                case "depth0" -> 0L;
                case "previtem" -> index0 > 0 ? items.get(index0 - 1) : new Undefined("there is no previous item");
                case "nextitem" -> index0 < n - 1 ? items.get(index0 + 1) : new Undefined("there is no next item");
                case "cycle" -> (Callable) (args, kw, line) -> {
                    if (args.isEmpty()) throw new JinjaException("TypeError: no items for cycling given", line);
                    return args.get(index0 % args.size());
                };
                default -> new Undefined("'LoopContext object' has no attribute '" + name + "'");
            };
        }
    }

    /**
     * The most characters a rendering may produce (all of its text, macro and block-set output included), and the
     * deepest macro recursion: a template from a model file must not exhaust the heap or the stack of the process
     * that renders it. A prompt is far smaller than either.
     */
    static final int MAX_CHARS = 1 << 25, MAX_DEPTH = 200;
    /** The most loop iterations of one rendering (a template from a model file must not spin a request's thread forever). */
    static final long MAX_ITERATIONS = 10_000_000;

    private final LocalDateTime now;
    private long produced, iterations;
    private int depth;

    Interpreter(LocalDateTime now) { this.now = now; }

    private void emit(StringBuilder out, String text, int line) {
        produced += text.length();
        if (produced > MAX_CHARS)
            throw new JinjaException("the template produced more than " + MAX_CHARS + " characters: jseek stops it there", line);
        out.append(text);
    }

    String render(List<Node> body, Map<String, ?> context) {
        Scope globals = new Scope(null);
        Builtins.globals(globals.vars, now);
        Scope root = new Scope(globals);
        for (Map.Entry<String, ?> e : context.entrySet()) root.vars.put(e.getKey(), fromJava(e.getValue(), e.getKey()));
        StringBuilder out = new StringBuilder();
        Flow f = exec(body, root, out);
        if (f != Flow.NORMAL) throw new JinjaException("'" + f.name().toLowerCase() + "' outside a for loop", 0);
        return out.toString();
    }

    private Flow exec(List<Node> body, Scope scope, StringBuilder out) {
        for (Node n : body) {
            Flow f = exec(n, scope, out);
            if (f != Flow.NORMAL) return f;
        }
        return Flow.NORMAL;
    }

    private Flow exec(Node node, Scope scope, StringBuilder out) {
        switch (node) {
            case Node.Text t -> emit(out, t.text(), 0);
            case Node.Output o -> emit(out, str(eval(o.expr(), scope)), o.expr().line());
            case Node.If i -> {
                for (int k = 0; k < i.tests().size(); k++) {
                    if (truthy(eval(i.tests().get(k), scope))) return exec(i.bodies().get(k), scope, out);
                }
                return exec(i.orElse(), scope, out);
            }
            case Node.For f -> { return forLoop(f, scope, out); }
            case Node.Set s -> assign(s.target(), eval(s.value(), scope), scope, s.line());
            // a break or continue inside a block set or filter block leaves the loop at once, the block's text unused (jinja2)
            case Node.SetBlock s -> {
                StringBuilder b = new StringBuilder();
                Flow fl = exec(s.body(), new Scope(scope), b);
                if (fl != Flow.NORMAL) return fl;
                assign(s.target(), applyFilters(s.filters(), b.toString(), scope), scope, s.line());
            }
            case Node.FilterBlock f -> {
                StringBuilder b = new StringBuilder();
                Flow fl = exec(f.body(), scope, b);
                if (fl != Flow.NORMAL) return fl;
                emit(out, str(applyFilters(f.filters(), b.toString(), scope)), f.line());
            }
            case Node.Macro m -> scope.vars.put(m.name(), macro(m, scope));
            case Node.Block b -> { return exec(b.body(), scope, out); }
            case Node.With w -> {
                Scope s = new Scope(scope);
                for (int k = 0; k < w.targets().size(); k++) assign(w.targets().get(k), eval(w.values().get(k), scope), s, w.line());
                return exec(w.body(), s, out);
            }
            case Node.Break b -> { return Flow.BREAK; }
            case Node.Continue c -> { return Flow.CONTINUE; }
        }
        return Flow.NORMAL;
    }

    private Object applyFilters(List<Expr.Filter> filters, Object value, Scope scope) {
        for (Expr.Filter f : filters) value = filter(f, value, scope);
        return value;
    }

    /**
     * As jinja2 runs a loop: each iteration starts from the variables outside (an assignment in one iteration is not
     * seen by the next), and the else branch runs unless some iteration reached the end of its body (break and
     * continue skip that point). A break or continue in the else branch belongs to the enclosing loop, as in Python's
     * for-else: its flow is returned.
     */
    private Flow forLoop(Node.For f, Scope scope, StringBuilder out) {
        List<Object> items = iterate(eval(f.iter(), scope), f.line());
        if (f.filter() != null) {
            List<Object> kept = new ArrayList<>();
            for (Object item : items) {
                Scope s = new Scope(scope);
                assign(f.target(), item, s, f.line());
                if (truthy(eval(f.filter(), s))) kept.add(item);
            }
            items = kept;
        }
        Loop loop = new Loop(items);
        boolean completed = false;
        for (int i = 0; i < items.size(); i++) {
            if (++iterations > MAX_ITERATIONS)
                throw new JinjaException("the template ran more than " + MAX_ITERATIONS + " loop iterations: jseek stops it there", f.line());
            loop.index0 = i;
            Scope s = new Scope(scope);
            s.vars.put("loop", loop);
            assign(f.target(), items.get(i), s, f.line());
            Flow fl = exec(f.body(), s, out);
            if (fl == Flow.NORMAL) completed = true;
            else if (fl == Flow.BREAK) break;
        }
        return completed ? Flow.NORMAL : exec(f.orElse(), scope, out);
    }

    private void assign(Node.Target target, Object value, Scope scope, int line) {
        switch (target) {
            case Node.NameTarget n -> scope.vars.put(n.name(), value);
            case Node.AttrTarget a -> {
                Object o = scope.lookup(a.object());
                if (!(o instanceof Namespace ns)) throw new JinjaException("cannot assign attribute on non-namespace object '" + a.object() + "'", line);
                ns.attrs.put(a.attr(), value);
            }
            case Node.TupleTarget t -> {
                List<Object> items = iterate(value, line);
                if (items.size() != t.items().size())
                    throw new JinjaException("ValueError: cannot unpack " + items.size() + " values into " + t.items().size() + " names", line);
                for (int i = 0; i < items.size(); i++) assign(t.items().get(i), items.get(i), scope, line);
            }
        }
    }

    private Callable macro(Node.Macro m, Scope defined) {
        return (args, kwargs, line) -> {
            int n = m.params().size(), firstDefault = n - m.defaults().size();
            if (args.size() > n)
                throw new JinjaException("TypeError: macro '" + m.name() + "' takes not more than " + n + " argument(s)", line);
            Scope s = new Scope(defined);
            for (int i = 0; i < n; i++) {
                String p = m.params().get(i);
                if (i < args.size()) {
                    if (kwargs.containsKey(p)) throw new JinjaException("TypeError: macro '" + m.name() + "' got multiple values for argument '" + p + "'", line);
                    s.vars.put(p, args.get(i));
                } else if (kwargs.containsKey(p)) {
                    s.vars.put(p, kwargs.get(p));
                } else if (i >= firstDefault) {
                    s.vars.put(p, eval(m.defaults().get(i - firstDefault), s));
                } else {
                    s.vars.put(p, new Undefined("parameter '" + p + "' was not provided"));
                }
            }
            for (String k : kwargs.keySet())
                if (!m.params().contains(k)) throw new JinjaException("TypeError: macro '" + m.name() + "' takes no keyword argument '" + k + "'", line);
            if (++depth > MAX_DEPTH) throw new JinjaException("macro calls nested deeper than " + MAX_DEPTH + " (a recursion that does not end?)", line);
            try {
                StringBuilder b = new StringBuilder();
                exec(m.body(), s, b);
                return b.toString();
            } finally {
                depth--;
            }
        };
    }

    Object eval(Expr e, Scope scope) {
        return switch (e) {
            case Expr.Const c -> c.value();
            case Expr.Name n -> scope.lookup(n.name());
            case Expr.ListLit l -> {
                List<Object> out = new ArrayList<>();
                for (Expr x : l.items()) out.add(eval(x, scope));
                yield out;
            }
            case Expr.TupleLit t -> {
                List<Object> out = new ArrayList<>();
                for (Expr x : t.items()) out.add(eval(x, scope));
                yield new Tuple(out);
            }
            case Expr.DictLit d -> {
                Map<Object, Object> out = new LinkedHashMap<>();
                for (int i = 0; i < d.keys().size(); i++) {
                    Object k = eval(d.keys().get(i), scope);
                    if (k instanceof List<?> && !(k instanceof Tuple) || k instanceof Map) throw typeError("unhashable type: '" + typeName(k) + "'", d.line());
                    Object existing = findKey(out, k);
                    out.put(existing == NO_KEY ? k : existing, eval(d.values().get(i), scope));
                }
                yield out;
            }
            case Expr.GetAttr g -> getattr(eval(g.obj(), scope), g.name(), g.line());
            case Expr.GetItem g -> getitem(eval(g.obj(), scope), eval(g.key(), scope), g.line());
            case Expr.Slice s -> slice(eval(s.obj(), scope), s.start() == null ? null : eval(s.start(), scope),
                    s.stop() == null ? null : eval(s.stop(), scope), s.step() == null ? null : eval(s.step(), scope), s.line());
            case Expr.Call c -> call(eval(c.fn(), scope), c, scope);
            case Expr.Filter f -> filter(f, eval(f.value(), scope), scope);
            case Expr.Test t -> {
                Object v = eval(t.value(), scope);
                List<Object> args = new ArrayList<>();
                for (Expr a : t.args().positional()) args.add(eval(a, scope));
                boolean r = Builtins.test(t.name(), v, args, t.line());
                yield t.negated() != r;
            }
            case Expr.Unary u -> unary(u, eval(u.operand(), scope));
            case Expr.Binary b -> binary(b, scope);
            case Expr.Compare c -> {
                Object left = eval(c.first(), scope);
                for (int i = 0; i < c.ops().size(); i++) {
                    Object right = eval(c.rest().get(i), scope);
                    if (!compareOp(c.ops().get(i), left, right, c.line())) yield false;
                    left = right;
                }
                yield true;
            }
            case Expr.Cond c -> truthy(eval(c.test(), scope)) ? eval(c.then(), scope)
                    : c.otherwise() == null ? new Undefined("the inline if expression evaluated to false and no else section was defined")
                    : eval(c.otherwise(), scope);
        };
    }

    private Object filter(Expr.Filter f, Object value, Scope scope) {
        List<Object> args = new ArrayList<>();
        for (Expr a : f.args().positional()) args.add(eval(a, scope));
        Map<String, Object> kwargs = new LinkedHashMap<>();
        for (int i = 0; i < f.args().names().size(); i++) kwargs.put(f.args().names().get(i), eval(f.args().named().get(i), scope));
        return Builtins.filter(f.name(), value, args, kwargs, f.line());
    }

    private Object call(Object fn, Expr.Call c, Scope scope) {
        List<Object> args = new ArrayList<>();
        for (Expr a : c.args().positional()) args.add(eval(a, scope));
        Map<String, Object> kwargs = new LinkedHashMap<>();
        for (int i = 0; i < c.args().names().size(); i++) kwargs.put(c.args().names().get(i), eval(c.args().named().get(i), scope));
        if (fn instanceof Callable f) return f.call(args, kwargs, c.line());
        if (fn instanceof Undefined u) throw u.error(c.line());
        throw typeError("'" + typeName(fn) + "' object is not callable", c.line());
    }

    /** jinja2's getattr: the attribute (a method, a namespace attribute, a loop field), else the item, else undefined. */
    static Object getattr(Object obj, String name, int line) {
        obj = plain(obj);
        if (obj instanceof Undefined u) throw u.error(line);
        if (obj instanceof Namespace ns) {
            return ns.attrs.containsKey(name) ? ns.attrs.get(name) : new Undefined("'Namespace object' has no attribute '" + name + "'");
        }
        if (obj instanceof Loop l) return l.attr(name);
        if (Builtins.hasMethod(obj, name)) return new BoundMethod(obj, name);
        if (obj instanceof Map<?, ?> m) {
            Object k = findKey(m, name);
            if (k != NO_KEY) return m.get(k);
        }
        return new Undefined("'" + describe(obj) + "' has no attribute '" + name + "'");
    }

    /** jinja2's getitem: the item, else (a string key) the attribute, else undefined. */
    static Object getitem(Object obj, Object key, int line) {
        obj = plain(obj);
        key = plain(key);
        if (obj instanceof Undefined u) throw u.error(line);
        if (key instanceof Undefined u) throw u.error(line);
        if (obj instanceof Map<?, ?> m) {
            Object k = findKey(m, key);
            if (k != NO_KEY) return m.get(k);
        } else if ((obj instanceof List<?> || obj instanceof String) && isInt(key)) {
            List<?> l = obj instanceof String s ? chars(s) : (List<?>) obj;
            long i = asLong(key);
            if (i < 0) i += l.size();
            if (i >= 0 && i < l.size()) return l.get((int) i);
        }
        if (key instanceof String s) {
            if (obj instanceof Namespace || obj instanceof Loop || Builtins.hasMethod(obj, s)) return getattr(obj, s, line);
        }
        return new Undefined("'" + describe(obj) + "' has no attribute " + repr(key));
    }

    private static String describe(Object obj) {
        return obj == null ? "None" : typeName(obj) + " object";
    }

    static Object slice(Object obj, Object start, Object stop, Object step, int line) {
        obj = plain(obj);
        if (obj instanceof Undefined u) throw u.error(line);
        if (obj instanceof String s) {
            List<Object> cs = chars(s);
            StringBuilder b = new StringBuilder();
            for (int i : sliceIndices(cs.size(), start, stop, step, line)) b.append((String) cs.get(i));
            return b.toString();
        }
        if (obj instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            for (int i : sliceIndices(l.size(), start, stop, step, line)) out.add(l.get(i));
            return obj instanceof Tuple ? new Tuple(out) : out;
        }
        return new Undefined("'" + describe(obj) + "' is not subscriptable");
    }

    private static Object unary(Expr.Unary u, Object v) {
        switch (u.op()) {
            case "not" -> { return !truthy(v); }
            case "-" -> {
                if (v instanceof Double d) return -d;
                if (isInt(v)) return Math.negateExact(asLong(v));
            }
            default -> {
                if (v instanceof Double || isInt(v)) return v instanceof Boolean ? asLong(v) : v;
            }
        }
        if (v instanceof Undefined un) throw un.error(u.line());
        throw typeError("bad operand type for unary " + u.op() + ": '" + typeName(v) + "'", u.line());
    }

    private Object binary(Expr.Binary b, Scope scope) {
        Object left = eval(b.left(), scope);
        switch (b.op()) {
            case "and" -> { return truthy(left) ? eval(b.right(), scope) : left; }
            case "or" -> { return truthy(left) ? left : eval(b.right(), scope); }
            default -> {}
        }
        Object right = eval(b.right(), scope);
        return Builtins.arithmetic(b.op(), left, right, b.line());
    }

    private static boolean compareOp(String op, Object a, Object b, int line) {
        return switch (op) {
            case "==" -> eq(a, b);
            case "!=" -> !eq(a, b);
            case "<" -> compare(a, b, op, line) < 0;
            case "<=" -> compare(a, b, op, line) <= 0;
            case ">" -> compare(a, b, op, line) > 0;
            case ">=" -> compare(a, b, op, line) >= 0;
            case "in" -> contains(b, a, line);
            case "notin" -> !contains(b, a, line);
            default -> throw new IllegalStateException(op);
        };
    }
}
