package dev.jseek.jinja;

import java.util.List;

/** The statements of the template language: text, output and the tags chat templates use. */
sealed interface Node {
    record Text(String text) implements Node {}
    record Output(Expr expr) implements Node {}
    /** if / elif ... / else: {@code tests.get(i)} guards {@code bodies.get(i)}; {@code orElse} may be empty. */
    record If(List<Expr> tests, List<List<Node>> bodies, List<Node> orElse) implements Node {}
    /** for target in iter [if filter] ... [else ...]: {@code filter} null when absent. */
    record For(Target target, Expr iter, Expr filter, List<Node> body, List<Node> orElse, int line) implements Node {}
    record Set(Target target, Expr value, int line) implements Node {}
    /** {@code {% set name %}body{% endset %}}, the rendered body passed through {@code filters} (value null) in order. */
    record SetBlock(Target target, List<Expr.Filter> filters, List<Node> body, int line) implements Node {}
    record Macro(String name, List<String> params, List<Expr> defaults, List<Node> body, int line) implements Node {}
    /** {@code {% filter name(args) %}body{% endfilter %}}: the rendered body through the filters (value null). */
    record FilterBlock(List<Expr.Filter> filters, List<Node> body, int line) implements Node {}
    /** The body of a tag that only groups (transformers' {@code {% generation %}}). */
    record Block(List<Node> body) implements Node {}
    /** {@code {% with a = 1, b = 2 %}body{% endwith %}}: the body in a scope of its own with these variables. */
    record With(List<Target> targets, List<Expr> values, List<Node> body, int line) implements Node {}
    record Break(int line) implements Node {}
    record Continue(int line) implements Node {}

    /** What a for or set assigns to. */
    sealed interface Target {}
    record NameTarget(String name) implements Target {}
    record TupleTarget(List<Target> items) implements Target {}
    /** {@code ns.attr}: an attribute of a namespace. */
    record AttrTarget(String object, String attr) implements Target {}
}
