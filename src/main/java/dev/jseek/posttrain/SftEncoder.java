package dev.jseek.posttrain;

import dev.jseek.tokenizer.ChatTemplate;
import dev.jseek.tokenizer.Message;
import dev.jseek.tokenizer.Tokenizer;
import dev.jseek.tokenizer.Utf8;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns a conversation into an {@link SftExample} (docs/architecture.md §7.5, §7.8): the whole conversation is rendered with the
 * DeepSeek-V3 {@link ChatTemplate} (no generation prompt) and encoded once, as at inference; a token is an assistant
 * token when it starts inside text that an assistant message produced.
 *
 * <p>What an assistant message produced is defined by generation: for assistant message j, let P be the rendering of
 * the messages before it with the generation prompt (what a model is given), Q the rendering without it and R the
 * rendering including message j. R extends Q; the produced text is R minus P when R extends P (the usual
 * {@code <｜Assistant｜>content<｜end▁of▁sentence｜>}: content and EOS are trained, the role marker is prompt),
 * else R minus Q (the template's quirks: after tool output the turn opens with {@code <｜tool▁outputs▁end｜>}, which
 * is prompt; a second tool-calling turn starts with "\n" right after the previous text). System messages are
 * rendered first wherever they stand, so every prefix rendering includes all of them.
 */
public final class SftEncoder {
    private final Tokenizer tokenizer;

    public SftEncoder(Tokenizer tokenizer) { this.tokenizer = tokenizer; }

    public Tokenizer tokenizer() { return tokenizer; }

    /** Assistant-produced character spans [start, end) of {@code ChatTemplate.render(messages, false)}. */
    public static List<int[]> assistantSpans(List<Message> messages) {
        String full = ChatTemplate.render(messages, false);
        List<Message> system = new ArrayList<>(), rest = new ArrayList<>();
        for (Message m : messages) (m.role().equals("system") ? system : rest).add(m);
        List<int[]> spans = new ArrayList<>();
        for (int j = 0; j < rest.size(); j++) {
            if (!rest.get(j).role().equals("assistant")) continue;
            List<Message> before = new ArrayList<>(system);
            before.addAll(rest.subList(0, j));
            String p = ChatTemplate.render(before, true), q = ChatTemplate.render(before, false);
            before.add(rest.get(j));
            String r = ChatTemplate.render(before, false);
            if (!r.startsWith(q) || !full.startsWith(r))
                throw new IllegalStateException("chat template rendering is not incremental at message " + j);
            int start = r.startsWith(p) ? p.length() : q.length();
            if (r.length() > start) spans.add(new int[] {start, r.length()});
        }
        return spans;
    }

    /** The example of a conversation (at least one assistant message with content or tool calls). */
    public SftExample encode(List<Message> messages) {
        // lone surrogates become U+FFFD (one char for one char) as the tokenizer does, so offsets carry over
        String full = Utf8.replaceLoneSurrogates(ChatTemplate.render(messages, false));
        List<int[]> spans = assistantSpans(messages);
        // character spans -> UTF-8 byte spans
        long[] byteSpans = new long[spans.size() * 2];
        for (int i = 0; i < spans.size(); i++) {
            byteSpans[2 * i] = utf8Length(full, spans.get(i)[0]);
            byteSpans[2 * i + 1] = utf8Length(full, spans.get(i)[1]);
        }
        int[] ids = tokenizer.encode(full, false);
        boolean[] assistant = new boolean[ids.length];
        long pos = 0;
        int s = 0;
        for (int i = 0; i < ids.length; i++) {
            byte[] b = tokenizer.tokenBytes(ids[i]);
            if (b == null) throw new IllegalStateException("token id " + ids[i] + " has no bytes");
            while (s < spans.size() && byteSpans[2 * s + 1] <= pos) s++;
            assistant[i] = s < spans.size() && pos >= byteSpans[2 * s] && pos < byteSpans[2 * s + 1];
            pos += b.length;
        }
        long total = full.getBytes(StandardCharsets.UTF_8).length;
        if (pos != total) throw new IllegalStateException("tokens decode to " + pos + " bytes, the rendered text has " + total);
        return new SftExample(ids, assistant);
    }

    private static long utf8Length(String s, int chars) {
        return s.substring(0, chars).getBytes(StandardCharsets.UTF_8).length;
    }
}
