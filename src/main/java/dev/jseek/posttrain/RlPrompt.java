package dev.jseek.posttrain;

import dev.jseek.tokenizer.Message;
import java.util.List;

/**
 * One RL question (docs/architecture.md §7.6): the conversation the policy answers (rendered with the chat template and its generation
 * prompt) and the reference answer a rule-based reward checks, or null when only model-based rewards apply.
 */
public record RlPrompt(List<Message> messages, String answer) {
    public RlPrompt {
        messages = List.copyOf(messages);
        if (messages.isEmpty()) throw new IllegalArgumentException("an RL prompt needs at least one message");
    }

    /** The text of the last user message (the question), or "" when there is none. */
    public String question() {
        for (int i = messages.size() - 1; i >= 0; i--)
            if (messages.get(i).role().equals("user") && messages.get(i).content() != null) return messages.get(i).content();
        return "";
    }
}
