package dev.jseek.jinja;

import java.time.LocalDateTime;
import java.util.List;
import java.util.Map;

/**
 * A Jinja template, rendered as HF transformers' {@code apply_chat_template} renders chat templates with jinja2: the
 * environment has {@code trim_blocks} and {@code lstrip_blocks}, loop controls ({@code break}, {@code continue}),
 * transformers' {@code tojson} (non-ASCII kept), {@code raise_exception(message)}, {@code strftime_now(format)} and
 * transformers' {@code {% generation %}} tag (which only groups); lists and dicts are mutable ({@code .append},
 * {@code .pop}, {@code .update}), as in jinja2's sandbox and llama.cpp's engine. Undefined values behave as jinja2's
 * default {@code Undefined}: they print as nothing and test false, and any other use is an error.
 *
 * <p>This is the language subset chat templates use (docs/tokenizer.md, "Chat templates"): no template inheritance,
 * includes, imports or call blocks. A template outside the subset fails at {@link #parse} with a message naming the
 * construct and the line. Values in a context: strings, numbers, booleans, null (none), lists and maps with string
 * keys, nested freely. Integers are 64-bit (past that an OverflowError, where Python's are unbounded). A rendering
 * stops with a {@link JinjaException} past 2^25 characters of output, 10^7 loop iterations or 200 nested macro calls,
 * so a template from a model file cannot take a server's heap, stack or thread. Differentially tested against Python's
 * jinja2 on llama.cpp's collection of real chat templates.
 */
public final class JinjaTemplate {
    private final List<Node> body;

    private JinjaTemplate(List<Node> body) { this.body = body; }

    /** Parses {@code source}; a {@link JinjaException} naming the line when it is not a template jseek renders. */
    public static JinjaTemplate parse(String source) {
        return new JinjaTemplate(Parser.parse(source));
    }

    /** Renders with {@code context}'s variables, {@code strftime_now} formatting the current local time. */
    public String render(Map<String, ?> context) { return render(context, LocalDateTime.now()); }

    /**
     * Renders with {@code context}'s variables, {@code strftime_now} formatting {@code now}. A {@link JinjaException}
     * when the template fails (its {@code raise_exception}: {@link JinjaException.Raised}); an
     * IllegalArgumentException when a context value is not a template value.
     */
    public String render(Map<String, ?> context, LocalDateTime now) {
        return new Interpreter(now).render(body, context);
    }
}
