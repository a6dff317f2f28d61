package dev.jseek.posttrain;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jseek.data.DataFormatException;
import dev.jseek.tokenizer.Message;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * RL questions from JSON Lines: {@code {"prompt": "What is 2+2?", "answer": "4"}} or
 * {@code {"messages": [{"role": "user", "content": "..."}], "answer": "4"}} (the conversation to answer; it must not
 * end with an assistant message); {@code answer} is optional (a string or a number) but then must be absent on every
 * line. Positions cycle through the file in a seeded order, a new permutation every pass. Errors name file, line and
 * field.
 */
public final class JsonlPromptSet implements PromptSet {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path file;
    private final List<RlPrompt> prompts;
    private final long seed;
    private final boolean answers;
    private long cachedEpoch = -1;
    private int[] cachedPerm;

    private JsonlPromptSet(Path file, List<RlPrompt> prompts, long seed, boolean answers) {
        this.file = file;
        this.prompts = List.copyOf(prompts);
        this.seed = seed;
        this.answers = answers;
    }

    public static JsonlPromptSet read(Path file, long seed) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new DataFormatException(file + ": no such file", e);
        } catch (IOException e) {
            throw new DataFormatException(file + ": cannot read: " + e, e);
        }
        List<RlPrompt> out = new ArrayList<>();
        Boolean withAnswers = null;
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) continue;
            String at = file + ":" + (i + 1) + ": ";
            JsonNode o;
            try {
                o = JSON.readTree(lines.get(i));
            } catch (JsonProcessingException e) {
                throw new DataFormatException(at + "not valid JSON: " + e.getOriginalMessage(), e);
            }
            if (o == null || !o.isObject()) throw new DataFormatException(at + "expected a JSON object {\"prompt\": ..., \"answer\": ...}, got " + ChatJsonl.kind(o));
            List<Message> msgs = new ArrayList<>();
            JsonNode p = o.get("prompt"), ms = o.get("messages");
            if (p != null && ms != null) throw new DataFormatException(at + "give prompt or messages, not both");
            if (p != null) {
                if (!p.isTextual()) throw new DataFormatException(at + "prompt: expected a string, got " + ChatJsonl.kind(p));
                msgs.add(Message.user(p.asText()));
            } else if (ms != null) {
                if (!ms.isArray() || ms.isEmpty()) throw new DataFormatException(at + "messages: expected a non-empty array, got " + ChatJsonl.kind(ms));
                for (int j = 0; j < ms.size(); j++) msgs.add(ChatJsonl.message(ms.get(j), at + "messages[" + j + "]"));
                if (msgs.getLast().role().equals("assistant"))
                    throw new DataFormatException(at + "messages: the last message is the assistant's; the policy writes that one");
            } else throw new DataFormatException(at + "field prompt (or messages) is missing");
            JsonNode a = o.get("answer");
            boolean has = a != null && !a.isNull();
            if (has && !a.isTextual() && !a.isNumber()) throw new DataFormatException(at + "answer: expected a string or a number, got " + ChatJsonl.kind(a));
            if (withAnswers == null) withAnswers = has;
            else if (withAnswers != has)
                throw new DataFormatException(at + "answer: " + (has ? "present" : "missing") + ", but " + (has ? "absent" : "present") + " on earlier lines (all or none)");
            out.add(new RlPrompt(msgs, has ? a.asText() : null));
        }
        if (out.isEmpty()) throw new DataFormatException(file + ": no prompts (the file is empty)");
        return new JsonlPromptSet(file, out, seed, withAnswers);
    }

    public int size() { return prompts.size(); }

    @Override public synchronized RlPrompt get(long index) {
        if (index < 0) throw new IllegalArgumentException("index " + index + " < 0");
        long epoch = index / prompts.size();
        if (epoch != cachedEpoch) {
            cachedPerm = SftBatchSource.permutation(prompts.size(), seed, epoch);
            cachedEpoch = epoch;
        }
        return prompts.get(cachedPerm[(int) (index % prompts.size())]);
    }

    @Override public boolean hasAnswers() { return answers; }

    @Override public String describe() { return file + " (" + prompts.size() + " prompts" + (answers ? ", with answers" : "") + ")"; }
}
