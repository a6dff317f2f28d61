package dev.jseek.jinja;

import java.util.List;

/** The expressions of the template language (jinja2's nodes of the same names); {@code line} is the template line. */
sealed interface Expr {
    int line();

    /** Positional and keyword arguments of a call, filter or test. */
    record Args(List<Expr> positional, List<String> names, List<Expr> named) {
        static final Args NONE = new Args(List.of(), List.of(), List.of());
    }

    /** A literal: string, integer (Long), float (Double), boolean, none (null). */
    record Const(Object value, int line) implements Expr {}
    record Name(String name, int line) implements Expr {}
    record ListLit(List<Expr> items, int line) implements Expr {}
    record TupleLit(List<Expr> items, int line) implements Expr {}
    record DictLit(List<Expr> keys, List<Expr> values, int line) implements Expr {}
    /** {@code obj.name}: the attribute, else the item {@code name}, else undefined. */
    record GetAttr(Expr obj, String name, int line) implements Expr {}
    /** {@code obj[key]}: the item, else the attribute when the key is a string, else undefined. */
    record GetItem(Expr obj, Expr key, int line) implements Expr {}
    /** {@code obj[start:stop:step]}, each part optional (null). */
    record Slice(Expr obj, Expr start, Expr stop, Expr step, int line) implements Expr {}
    record Call(Expr fn, Args args, int line) implements Expr {}
    /** {@code value | name(args)}. */
    record Filter(Expr value, String name, Args args, int line) implements Expr {}
    /** {@code value is [not] name(args)}. */
    record Test(Expr value, String name, Args args, boolean negated, int line) implements Expr {}
    /** {@code not x}, {@code -x}, {@code +x}. */
    record Unary(String op, Expr operand, int line) implements Expr {}
    /** Arithmetic ({@code + - * / // % **}), concatenation ({@code ~}) and the short-circuit {@code and} / {@code or}. */
    record Binary(String op, Expr left, Expr right, int line) implements Expr {}
    /** {@code a < b <= c ...}: ops among {@code == != < <= > >= in notin}. */
    record Compare(Expr first, List<String> ops, List<Expr> rest, int line) implements Expr {}
    /** {@code then if test else otherwise}; otherwise null: undefined when the test is false. */
    record Cond(Expr test, Expr then, Expr otherwise, int line) implements Expr {}
}
