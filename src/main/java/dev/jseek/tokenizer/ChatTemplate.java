package dev.jseek.tokenizer;

import dev.jseek.jinja.JinjaException;
import dev.jseek.jinja.JinjaTemplate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static dev.jseek.tokenizer.SpecialTokens.*;

/**
 * Chat prompts: a conversation rendered with the tokenizer's chat template, when it is one of the DeepSeek family's
 * ({@link ChatFormat}: DeepSeek-V3, R1, V3-0324, V2, V3.1, Kimi-K2), then encoded. {@link #render(List, boolean)} is DeepSeek-V3's
 * template (tokenizer_config.json, docs/architecture.md §7.8), rendered byte-for-byte like HF's
 * {@code apply_chat_template} with jinja2, quirks included:
 * <ul>
 * <li>output = BOS + all system messages joined by "\n\n" (no role marker) + the other messages in order;</li>
 * <li>user: {@code <｜User｜>content}; assistant with content: {@code <｜Assistant｜>content<｜end▁of▁sentence｜>}, but
 *     directly after tool output {@code <｜tool▁outputs▁end｜>content<｜end▁of▁sentence｜>};</li>
 * <li>assistant with content null: its tool calls; the first call of the whole conversation opens with
 *     {@code <｜Assistant｜><｜tool▁calls▁begin｜>}, every later one starts with "\n" and is followed by
 *     {@code <｜tool▁calls▁end｜><｜end▁of▁sentence｜>} (so a single call gets no closing pair, and a second
 *     tool-calling turn never reopens) — the "first" flags are never reset;</li>
 * <li>tool: the first output of the conversation opens {@code <｜tool▁outputs▁begin｜>}, later ones start with
 *     "\n"; at the end {@code <｜tool▁outputs▁end｜>} if still in tool output, else {@code <｜Assistant｜>} when a
 *     generation prompt is asked for.</li>
 * </ul>
 * An assistant message with both content and tool calls renders its content only; unknown roles render nothing.
 * Encode the result with {@code addBos=false} (it already starts with BOS): see {@link #encode}.
 *
 * <p>A tokenizer that brings a template ({@link Tokenizer#chatTemplate()}: tokenizer_config.json's {@code chat_template},
 * a GGUF's {@code tokenizer.chat_template}) is rendered by the hand-written renderer of its {@link ChatFormat} when it is
 * one of the DeepSeek family's (compared as text, see {@link ChatFormat#of}): those renderers also know how the model
 * writes tool calls and reasoning. Any other template is rendered by jseek's Jinja engine ({@link JinjaTemplate}, the
 * subset of jinja2 chat templates use, with the variables of {@link #context}), so a model whose template jseek has never
 * seen (DeepSeek-R1-0528, V2.5, Moonlight, ...) still chats; such a template gets no tools, and its own switches come as variables ({@link #render(Tokenizer, List, boolean, Map)}). A
 * template the engine cannot parse is refused by {@link #encode} with a message naming the tokenizer and the reason. A
 * tokenizer without a template (one jseek trained) gets DeepSeek-V3's when its vocabulary has V3's role tokens, and is
 * refused otherwise.
 */
public final class ChatTemplate {
    private ChatTemplate() {}

    /** DeepSeek-V3's chat template text (its tokenizer_config.json {@code chat_template}), the one {@link #render} implements. */
    public static final String DEEPSEEK_V3 = ChatFormat.DEEPSEEK_V3.template;

    /**
     * True when {@code template} (null: none given) is rendered by a hand-written renderer: absent (DeepSeek-V3's is
     * used), or one of {@link ChatFormat}'s.
     */
    public static boolean renders(String template) { return template == null || ChatFormat.of(template) != null; }

    /** Parsed templates (or why one does not parse), by text: a tokenizer's template is parsed once. */
    private static final Map<String, Object> PARSED = new ConcurrentHashMap<>();

    /** {@code template} parsed by the Jinja engine; a {@link JinjaException} when it does not parse. */
    static JinjaTemplate jinja(String template) {
        Object o = PARSED.computeIfAbsent(template, k -> {
            try {
                return JinjaTemplate.parse(k);
            } catch (JinjaException e) {
                return e;
            }
        });
        if (o instanceof JinjaException e) throw e;
        return (JinjaTemplate) o;
    }

    /**
     * True when {@code t}'s chat template is rendered by the Jinja engine: it has one, it is none of
     * {@link ChatFormat}'s, and it parses. Such a template has no tool calls or thinking switch jseek knows.
     */
    public static boolean rendersWithJinja(Tokenizer t) {
        if (t.chatTemplate() == null || formatOf(t) != null) return false;
        try {
            jinja(t.chatTemplate());
            return true;
        } catch (JinjaException e) {
            return false;
        }
    }

    /**
     * The template jseek renders for {@code t}: its own when known; DeepSeek-V3's when it has none and its vocabulary
     * holds V3's role tokens ({@code <｜User｜>}, {@code <｜Assistant｜>}: DeepSeek-V3's and jseek's trained
     * tokenizers); null otherwise (an unknown template, or none for a vocabulary such as DeepSeek-V2's, whose prompt
     * format is not V3's).
     */
    public static ChatFormat formatOf(Tokenizer t) {
        if (t.chatTemplate() != null) return ChatFormat.of(t.chatTemplate());
        return t.tokenId(USER) >= 0 && t.tokenId(ASSISTANT) >= 0 ? ChatFormat.DEEPSEEK_V3 : null;
    }

    /**
     * Null when chat prompts of {@code t} can be rendered ({@link #formatOf}), else the one-line reason naming the
     * tokenizer's source and, for an unknown template, its first line and the templates jseek renders.
     */
    public static String unsupported(Tokenizer t) { return unsupported(t, t.source()); }

    /** As {@link #unsupported(Tokenizer)}, naming {@code source} as where the template came from (a template file). */
    public static String unsupported(Tokenizer t, Object source) {
        if (formatOf(t) != null) return null;
        if (t.chatTemplate() == null)
            return source + " carries no chat template, and its vocabulary lacks the " + USER + " / " + ASSISTANT + " tokens of "
                    + "DeepSeek-V3's (the template jseek uses when there is none): use completions, or give a tokenizer with a chat_template";
        try {
            jinja(t.chatTemplate());
            return null;
        } catch (JinjaException e) {
            return "the chat template of " + source + " (first line \"" + firstLine(t.chatTemplate()) + "\") is not one jseek can render: "
                    + e.getMessage() + ". Use completions, or give a tokenizer whose chat_template is one of the DeepSeek family's ("
                    + ChatFormat.labels() + ") or within the Jinja subset chat templates use (docs/tokenizer.md)";
        }
    }

    /**
     * Whether answers to chats with {@code t} are split into reasoning and reply at {@code </think>}: a family
     * template of a reasoning model ({@link ChatFormat#thinks}), or a template rendered by the Jinja engine whose text
     * handles {@code </think>} (DeepSeek-R1-0528's and the R1 distills' drop the reasoning of earlier answers up to it):
     * a template that knows the marker is a reasoning model's. An answer that opens no {@code <think>} is all reply.
     */
    public static boolean splitsReasoning(Tokenizer t) {
        ChatFormat f = formatOf(t);
        if (f != null) return f.thinks();
        return rendersWithJinja(t) && t.chatTemplate().contains("</think>");
    }

    /**
     * One line on how chats with {@code t} are rendered: the family renderer and what it knows (tool-call syntax,
     * reasoning), the Jinja engine, or why neither can ({@code jseek inspect} prints it).
     */
    public static String describe(Tokenizer t) {
        ChatFormat f = formatOf(t);
        if (f != null) {
            ToolCallSyntax calls = f.toolCalls();
            return f.label + (t.chatTemplate() == null ? " (the tokenizer carries none; DeepSeek-V3's is used)" : "")
                    + ": jseek's renderer; tool calls " + (calls == null ? "none" : "in " + switch (calls) {
                        case DEEPSEEK_V3 -> "DeepSeek-V3";
                        case DEEPSEEK_V3_1 -> "DeepSeek-V3.1";
                        case KIMI_K2 -> "Kimi-K2";
                    } + " syntax")
                    + (f.hasThinkingSwitch() ? "; thinking switch" : f.thinks() ? "; answers open with reasoning" : "");
        }
        if (rendersWithJinja(t))
            return "rendered by jseek's Jinja engine (first line \"" + firstLine(t.chatTemplate()) + "\"); no tools; chat_template_kwargs are template variables"
                    + (splitsReasoning(t) ? "; answers split at </think>" : "");
        return "none: " + unsupported(t);
    }

    private static String firstLine(String template) {
        String s = template.strip();
        int nl = s.indexOf('\n');
        String head = (nl < 0 ? s : s.substring(0, nl)).strip();
        return head.length() > 80 ? head.substring(0, 80) + "..." : head;
    }

    /**
     * Null when {@code t}'s template has a thinking switch ({@link ChatFormat#hasThinkingSwitch}: DeepSeek-V3.1's),
     * else why thinking cannot be switched on.
     */
    public static String noThinkingSwitch(Tokenizer t) {
        ChatFormat f = formatOf(t);
        if (f == null && rendersWithJinja(t))
            return "the model's chat template (first line \"" + firstLine(t.chatTemplate()) + "\") is none of the DeepSeek family's, so "
                    + "jseek knows no thinking switch in it (DeepSeek-V3.1's has one)";
        if (f == null) return unsupported(t);
        if (f.hasThinkingSwitch()) return null;
        return "the model's chat template (" + f.label + ") has no thinking switch"
                + (f == ChatFormat.DEEPSEEK_R1 || f == ChatFormat.DEEPSEEK_R1_2025_01 ? " (DeepSeek-R1 always thinks)" : "")
                + "; DeepSeek-V3.1's has one";
    }

    /**
     * The variables a chat template renders with, as transformers' {@code apply_chat_template} passes OpenAI-style
     * messages: {@code messages} (each a map with {@code role}, {@code content} (null for none), and {@code tool_calls}
     * only when it has some: {@code [{type, function: {name, arguments}}]}, the arguments as the JSON text the API
     * carries), {@code bos_token}, {@code eos_token}, {@code add_generation_prompt}, and {@code thinking} when not null.
     */
    public static Map<String, Object> context(List<Message> messages, boolean addGenerationPrompt, String bos, String eos, Boolean thinking) {
        List<Map<String, Object>> ms = new ArrayList<>();
        for (Message m : messages) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("role", m.role());
            o.put("content", m.content());
            if (!m.toolCalls().isEmpty()) {
                List<Map<String, Object>> calls = new ArrayList<>();
                for (ToolCall t : m.toolCalls()) {
                    Map<String, Object> fn = new LinkedHashMap<>();
                    fn.put("name", t.name());
                    fn.put("arguments", t.arguments());
                    Map<String, Object> c = new LinkedHashMap<>();
                    c.put("type", t.type());
                    c.put("function", fn);
                    calls.add(c);
                }
                o.put("tool_calls", calls);
            }
            ms.add(o);
        }
        Map<String, Object> ctx = new LinkedHashMap<>();
        ctx.put("messages", ms);
        ctx.put("bos_token", bos);
        ctx.put("eos_token", eos);
        ctx.put("add_generation_prompt", addGenerationPrompt);
        if (thinking != null) ctx.put("thinking", thinking);
        return ctx;
    }

    /** The prompt text of a conversation with DeepSeek-V3's template (see class doc). */
    public static String render(List<Message> messages, boolean addGenerationPrompt) { return ChatFormat.v3(messages, addGenerationPrompt, BOS); }

    /**
     * The prompt text of a conversation with the tokenizer's template ({@link #formatOf}), its BOS/EOS token strings
     * as {@code bos_token} / {@code eos_token}. IllegalArgumentException when the template cannot be rendered
     * ({@link #unsupported}) or refuses the conversation (a Jinja template's {@code raise_exception}, e.g. roles that do
     * not alternate).
     */
    public static String render(Tokenizer tokenizer, List<Message> messages, boolean addGenerationPrompt) {
        return render(tokenizer, messages, addGenerationPrompt, false);
    }

    /**
     * As {@link #render(Tokenizer, List, boolean)} with the template's thinking switch ({@code thinking}, DeepSeek-V3.1's:
     * the generation prompt opens {@code <think>}); templates without one ignore it ({@link ChatFormat#hasThinkingSwitch}).
     */
    public static String render(Tokenizer tokenizer, List<Message> messages, boolean addGenerationPrompt, boolean thinking) {
        ChatFormat f = formatOf(tokenizer);
        String bos = tokenizer.bosId() >= 0 ? tokenizer.tokenString(tokenizer.bosId()) : BOS;
        String eos = tokenizer.eosId() >= 0 ? tokenizer.tokenString(tokenizer.eosId()) : EOS;
        if (f != null) return f.render(messages, addGenerationPrompt, bos, eos, thinking);
        String why = unsupported(tokenizer);
        if (why != null) throw new IllegalArgumentException(why);
        if (thinking) throw new IllegalArgumentException(noThinkingSwitch(tokenizer));
        return render(tokenizer, messages, addGenerationPrompt, Map.of());
    }

    /**
     * The variables jseek itself gives a Jinja template ({@link #context}), which {@code chat_template_kwargs} may not
     * set, and {@code tools}, which jseek does not pass to a Jinja template (it could not read the calls back).
     */
    public static final java.util.Set<String> SET_BY_JSEEK = java.util.Set.of("messages", "add_generation_prompt", "bos_token", "eos_token", "tools");

    /**
     * As {@link #render(Tokenizer, List, boolean, boolean)} with the variables of an OpenAI-style
     * {@code chat_template_kwargs} (values as the Jinja engine takes them: Map, List, String, Boolean, Long, Double,
     * null). A template rendered by the Jinja engine gets every one of them beside {@link #context}'s, as transformers'
     * {@code apply_chat_template(**kwargs)} passes them (a name in {@link #SET_BY_JSEEK} is refused). jseek's own
     * renderers of the DeepSeek family read one, {@code thinking} (a Boolean: {@link ChatFormat#hasThinkingSwitch}),
     * and refuse any other name. IllegalArgumentException naming the variable, or as {@code render} does.
     */
    public static String render(Tokenizer tokenizer, List<Message> messages, boolean addGenerationPrompt, Map<String, Object> variables) {
        if (formatOf(tokenizer) == null && unsupported(tokenizer) == null) {
            for (String k : variables.keySet())
                if (SET_BY_JSEEK.contains(k))
                    throw new IllegalArgumentException("'" + k + "' is set by jseek (" + String.join(", ", new java.util.TreeSet<>(SET_BY_JSEEK)) + "), not by the caller");
            String bos = tokenizer.bosId() >= 0 ? tokenizer.tokenString(tokenizer.bosId()) : BOS;
            String eos = tokenizer.eosId() >= 0 ? tokenizer.tokenString(tokenizer.eosId()) : EOS;
            Map<String, Object> ctx = context(messages, addGenerationPrompt, bos, eos, null);
            ctx.putAll(variables);
            try {
                return jinja(tokenizer.chatTemplate()).render(ctx);
            } catch (JinjaException e) {
                String m = e instanceof JinjaException.Raised r ? r.templateMessage() : e.getMessage();
                throw new IllegalArgumentException("the chat template of " + tokenizer.source() + " refuses this conversation: " + m);
            }
        }
        String why = unsupported(tokenizer);
        if (why != null) throw new IllegalArgumentException(why);
        for (Map.Entry<String, Object> e : variables.entrySet()) {
            String no = refusedVariable(tokenizer, e.getKey(), e.getValue());
            if (no != null) throw new IllegalArgumentException("'" + e.getKey() + "': " + no);
        }
        return render(tokenizer, messages, addGenerationPrompt, Boolean.TRUE.equals(variables.get("thinking")));
    }

    /**
     * Why jseek's own renderer of {@code tokenizer}'s template (one of the family's, {@link #formatOf}) cannot take
     * the template variable {@code name} = {@code value}, or null when it can (and for a template the Jinja engine
     * renders, which takes any name but {@link #SET_BY_JSEEK}): those renderers read only {@code thinking}, a boolean,
     * and true only where the template has the switch ({@link #noThinkingSwitch}). The one rule behind the server's
     * {@code chat_template_kwargs} and {@code --chat-template-kwargs}.
     */
    public static String refusedVariable(Tokenizer tokenizer, String name, Object value) {
        ChatFormat f = formatOf(tokenizer);
        if (f == null) return null;
        if (!name.equals("thinking"))
            return "jseek renders this model's chat template (" + f.label + ") itself and reads only 'thinking' (DeepSeek-V3.1's switch)";
        if (value != null && !(value instanceof Boolean)) return "must be true or false, got " + value;
        return Boolean.TRUE.equals(value) ? noThinkingSwitch(tokenizer) : null;
    }

    /**
     * A JSON value as a template variable: objects as maps (order kept), arrays as lists, integers as Long, other
     * numbers as Double, strings, booleans, null. IllegalArgumentException for an integer outside 64 bits.
     */
    public static Object variable(com.fasterxml.jackson.databind.JsonNode n) {
        if (n == null || n.isNull() || n.isMissingNode()) return null;
        if (n.isObject()) {
            Map<String, Object> m = new LinkedHashMap<>();
            for (var e : n.properties()) m.put(e.getKey(), variable(e.getValue()));
            return m;
        }
        if (n.isArray()) {
            List<Object> l = new ArrayList<>();
            for (var x : n) l.add(variable(x));
            return l;
        }
        if (n.isTextual()) return n.textValue();
        if (n.isBoolean()) return n.booleanValue();
        if (n.isIntegralNumber()) {
            if (!n.canConvertToLong()) throw new IllegalArgumentException(n + " is outside the 64-bit integers templates compute with");
            return n.longValue();
        }
        return n.doubleValue();
    }

    /** The prompt ids of {@link #render(Tokenizer, List, boolean, Map)}'s text, encoded without adding BOS. */
    public static int[] encode(Tokenizer tokenizer, List<Message> messages, boolean addGenerationPrompt, Map<String, Object> variables) {
        return tokenizer.encode(render(tokenizer, messages, addGenerationPrompt, variables), false);
    }

    /**
     * The prompt ids of a conversation: the text {@link #render(Tokenizer, List, boolean)} gives, encoded without
     * adding BOS (the templates put it in the text). IllegalArgumentException when the tokenizer's chat template cannot
     * be rendered ({@link #unsupported}) or refuses the conversation.
     */
    public static int[] encode(Tokenizer tokenizer, List<Message> messages, boolean addGenerationPrompt) {
        return tokenizer.encode(render(tokenizer, messages, addGenerationPrompt), false);
    }

    /** As {@link #encode(Tokenizer, List, boolean)} with the template's thinking switch (see {@link #render(Tokenizer, List, boolean, boolean)}). */
    public static int[] encode(Tokenizer tokenizer, List<Message> messages, boolean addGenerationPrompt, boolean thinking) {
        return tokenizer.encode(render(tokenizer, messages, addGenerationPrompt, thinking), false);
    }

}
