package dev.jseek.cli;

import dev.jseek.api.Completion;
import dev.jseek.api.JseekModel;
import dev.jseek.api.PromptStart;
import dev.jseek.api.Sampling;
import dev.jseek.infer.EngineOptions;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.tokenizer.ChatTemplate;
import dev.jseek.tokenizer.Message;
import dev.jseek.tokenizer.Tokenizer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code jseek chat}: a conversation in the terminal through {@link JseekModel} (DeepSeek-V3's chat template; a .gguf
 * brings its own tokenizer and template). Each input line is a user turn; the answer streams back and joins the
 * history. {@code /reset} forgets the conversation; an empty line or the end of input ends it.
 */
@Command(name = "chat", mixinStandardHelpOptions = true,
        description = "Chat with a model in the terminal: each line is a user turn, the answer streams back; /reset starts over, "
                + "an empty line or end of input quits. A .gguf needs no tokenizer.json (its metadata carries the tokenizer).")
public final class ChatCommand implements Callable<Integer> {
    @Mixin MappedModelOptions model;

    @Mixin ChatTemplateOption chatTemplate;

    @Option(names = "--system", description = "A system prompt.") String system;

    @Option(names = {"-n", "--max-tokens"}, defaultValue = "512", description = "Tokens per answer at most. Default ${DEFAULT-VALUE}.")
    int maxTokens;

    @Option(names = "--temperature", defaultValue = "0.6", description = "0 = greedy. Default ${DEFAULT-VALUE}.") float temperature;

    @Option(names = "--seed", description = "Sampling seed (a fixed conversation then gives the same answers).") Long seed;

    @Option(names = "--thinking", description = "Switch the chat template to thinking (DeepSeek-V3.1's switch: each answer opens <think>; "
            + "the reasoning prints before its </think>, and later prompts keep only the reply).") boolean thinking;

    @Override public Integer call() throws Exception {
        if (maxTokens < 1) throw new UserException("--max-tokens must be >= 1, got " + maxTokens);
        if (!(temperature >= 0) || Float.isInfinite(temperature)) throw new UserException("--temperature must be a finite number >= 0, got " + temperature);
        Path modelPath = model.model.checked();
        Tokenizer tok = chatTemplate.apply(model.tokenizer.find(modelPath, true));
        String why = ChatTemplate.unsupported(tok);
        if (why != null) throw new UserException(why);
        if (thinking && (why = ChatTemplate.noThinkingSwitch(tok)) != null) throw new UserException("--thinking: " + why);
        java.util.Map<String, Object> vars = new java.util.LinkedHashMap<>(chatTemplate.kwargs(tok));
        if (thinking) vars.put("thinking", true);
        DeepSeekV3 m = model.open();
        JseekModel jm;
        try {
            jm = new JseekModel(m, tok, EngineOptions.defaults(), PromptStart.AUTO);
        } catch (IllegalArgumentException e) {
            m.close();
            throw new UserException(e.getMessage(), e);
        }
        PrintStream out = System.out;
        try (jm) {
            List<Message> history = new ArrayList<>();
            if (system != null) history.add(Message.system(system));
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            Sampling s = temperature == 0 ? Sampling.greedy(maxTokens) : Sampling.of(maxTokens, temperature);
            if (seed != null) s = s.withSeed(seed);
            while (true) {
                out.print("> ");
                out.flush();
                String line = in.readLine();
                if (line == null || line.isBlank()) break;
                if (line.strip().equals("/reset")) {
                    history.subList(system != null ? 1 : 0, history.size()).clear();
                    continue;
                }
                history.add(Message.user(line));
                try {
                    Completion c = jm.stream(history, s, vars, t -> { out.print(t); out.flush(); });
                    out.println();
                    history.add(Message.assistant(c.text()));
                } catch (IllegalArgumentException e) { // the conversation no longer fits the context or the cache
                    history.removeLast();
                    out.println();
                    System.err.println("jseek: " + e.getMessage() + " (/reset starts a new conversation)");
                }
            }
        }
        return 0;
    }
}
