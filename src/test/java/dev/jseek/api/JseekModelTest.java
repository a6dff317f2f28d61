package dev.jseek.api;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.api.langchain4j.JseekChatModel;
import dev.jseek.api.langchain4j.JseekStreamingChatModel;
import dev.jseek.infer.EngineOptions;
import dev.jseek.infer.Generator;
import dev.jseek.infer.Sampler;
import dev.jseek.model.AttnMode;
import dev.jseek.model.ConfigEdits;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.model.Presets;
import dev.jseek.model.RandomInit;
import dev.jseek.tensor.DType;
import dev.jseek.tokenizer.BpeTrainer;
import dev.jseek.tokenizer.ChatTemplate;
import dev.jseek.tokenizer.Message;
import dev.jseek.tokenizer.Tokenizer;
import dev.jseek.tokenizer.TrainingCorpus;
import dev.langchain4j.service.AiServices;
import dev.langchain4j.service.TokenStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The in-process API and its LangChain4j adapter. Oracle: {@link ChatTemplate#encode} + {@link Generator} (one
 * sequence, its own cache, stopping at EOS) + {@link Tokenizer#decode} on a separately opened copy of the model.
 */
@Timeout(120)
class JseekModelTest {
    @TempDir static Path dir;
    static JseekModel model;
    static Tokenizer tok;

    @BeforeAll static void build() throws Exception {
        Random r = new Random(3);
        String[] words = {"the", "model", "reads", "a", "token", "and", "writes", "next", "one", "hello", "world", "cache"};
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 3000; i++) sb.append(words[r.nextInt(words.length)]).append(r.nextInt(10) == 0 ? ".\n" : " ");
        Files.writeString(dir.resolve("corpus.txt"), sb);
        BpeTrainer.train(new TrainingCorpus(dir.resolve("corpus.txt"), null, Long.MAX_VALUE), new BpeTrainer.Options(300, 2, 1, null),
                dir.resolve("tokenizer.json"));
        tok = Tokenizer.load(dir.resolve("tokenizer.json"));
        var cfg = ConfigEdits.edit(Presets.get("tiny"), o -> o.put("vocab_size", tok.vocabSize()).put("max_position_embeddings", 64).putNull("rope_scaling"));
        RandomInit.write(cfg, dir, 9, 0.3, DType.F32);
        model = JseekModel.load(dir, JseekModel.findTokenizer(dir), EngineOptions.defaults().withCacheBytes(8L << 20));
    }

    @AfterAll static void close() { if (model != null) model.close(); }

    static String oracle(List<Message> msgs, int max, Sampler s) {
        try (DeepSeekV3 m = DeepSeekV3.open(dir)) {
            int[] t = new Generator(m, AttnMode.ABSORB).generate(ChatTemplate.encode(tok, msgs, true), max, s,
                    new int[] {m.config.eosTokenId()}, null).tokens();
            return tok.decode(t, true);
        }
    }

    /** A generation stops at the tokenizer's end-of-generation ids too: Kimi-K2's end of turn, [EOS], [EOT], [PAD]. */
    @Test void stopsAtTheTokenizersEndOfGenerationIds(@TempDir Path d) {
        var v = dev.jseek.tokenizer.KimiTestVocabulary.train(dev.jseek.tokenizer.KimiTestVocabulary.MULTILINGUAL, 300);
        Tokenizer kimi = Tokenizer.fromVocabulary(d.resolve("kimi.gguf"), v.tokens(), v.types(), v.merges(), v.bos(), v.eos(), false,
                null, Tokenizer.KIMI_K2_PRE);
        var cfg = ConfigEdits.edit(Presets.get("tiny"), o -> o.put("vocab_size", kimi.vocabSize()).put("max_position_embeddings", 64).putNull("rope_scaling"));
        RandomInit.write(cfg, d, 9, 0.3, DType.F32);
        try (JseekModel m = new JseekModel(DeepSeekV3.open(d), kimi, EngineOptions.defaults().withCacheBytes(1L << 20), PromptStart.AUTO)) {
            List<Integer> stop = java.util.Arrays.stream(m.stopIds()).boxed().toList();
            for (String t : List.of("<|im_end|>", "[EOS]", "[EOT]", "[PAD]")) assertTrue(stop.contains(v.id(t)), t + " in " + stop);
            assertTrue(stop.contains(cfg.eosTokenId()), "the model's EOS");
            assertEquals(stop.size(), stop.stream().distinct().count());
        }
    }

    /**
     * The model exported to a .gguf (F32, so the same logits bit for bit) in a folder with no tokenizer.json: its
     * embedded tokenizer and chat template make chat and completions give what the model directory gives.
     */
    @Test void aGgufAloneIsEnoughToChat(@TempDir Path elsewhere) throws Exception {
        Path gguf = f32Gguf(elsewhere);
        List<Message> msgs = List.of(Message.system("Be brief."), Message.user("hello world"));
        try (JseekModel g = JseekModel.load(gguf)) {
            assertEquals(gguf, g.tokenizer().source());
            assertArrayEquals(model.chatPrompt(msgs), g.chatPrompt(msgs));
            assertEquals(model.chat(msgs, Sampling.greedy(12)).text(), g.chat(msgs, Sampling.greedy(12)).text());
            assertEquals(model.complete("the model", Sampling.greedy(8)).text(), g.complete("the model", Sampling.greedy(8)).text());
        }
    }

    /** {@code jseek chat --model x.gguf} with no tokenizer.json anywhere: two turns, greedy, as {@link JseekModel#chat} answers them. */
    @Test void chatCommandTalksToAGgufAlone(@TempDir Path elsewhere) throws Exception {
        Path gguf = f32Gguf(elsewhere);
        String a1 = model.chat(List.of(Message.user("hello world")), Sampling.greedy(10)).text();
        String a2 = model.chat(List.of(Message.user("hello world"), Message.assistant(a1), Message.user("the model")), Sampling.greedy(10)).text();
        String[] run = chatCommand("hello world\nthe model\n\n", "chat", "--model", gguf.toString(), "--temperature", "0", "-n", "10");
        assertEquals("0", run[0], run[2]);
        assertEquals("> " + a1 + "\n> " + a2 + "\n> ", run[1]);
    }

    /**
     * A .gguf whose metadata carries DeepSeek-V2's pre-tokenizer ("deepseek-llm") and chat template: {@code jseek chat}
     * on it alone renders V2's "User: ... Assistant:" prompt and splits text V2's way. Oracle: the prompt text written
     * out here, encoded by the tokenizer read from the file, and {@link Generator} on the model directory.
     */
    @Test void chatCommandUsesTheGgufsOwnTemplateAndPreTokenizer(@TempDir Path elsewhere) throws Exception {
        var om = new com.fasterxml.jackson.databind.ObjectMapper();
        var root = (com.fasterxml.jackson.databind.node.ObjectNode) om.readTree(dir.resolve("tokenizer.json").toFile());
        root.set("pre_tokenizer", dev.jseek.tokenizer.FamilyTokenizers.preTokenizerJson(Tokenizer.DEEPSEEK_LLM_PRE));
        Path v2 = Files.createDirectories(elsewhere.resolve("v2tok"));
        om.writeValue(v2.resolve("tokenizer.json").toFile(), root);
        om.writeValue(v2.resolve("tokenizer_config.json").toFile(), om.createObjectNode().put("chat_template", dev.jseek.tokenizer.ChatFormat.DEEPSEEK_V2.template));
        Path gguf = elsewhere.resolve("v2.gguf");
        dev.jseek.gguf.GgufExporter.export(dir, gguf, dev.jseek.gguf.GgmlType.F32, false, v2.resolve("tokenizer.json"));
        Tokenizer g;
        try (var f = dev.jseek.gguf.GgufFile.open(gguf)) { g = dev.jseek.gguf.GgufTokenizer.read(f); }
        assertSame(dev.jseek.tokenizer.ChatFormat.DEEPSEEK_V2, ChatTemplate.formatOf(g));
        assertFalse(g.hasDeepSeekV3PreTokenizer());

        String bos = g.tokenString(g.bosId()), eos = g.tokenString(g.eosId());
        String a1 = generate(g, bos + "User: hello\n\nAssistant:");
        String a2 = generate(g, bos + "User: hello\n\nAssistant: " + a1 + eos + "User: world\n\nAssistant:");
        String[] run = chatCommand("hello\nworld\n\n", "chat", "--model", gguf.toString(), "--temperature", "0", "-n", "6");
        assertEquals("0", run[0], run[2]);
        assertEquals("> " + a1 + "\n> " + a2 + "\n> ", run[1]);
    }

    /**
     * {@code jseek chat --thinking} on a .gguf carrying DeepSeek-V3.1's template: the prompt opens {@code <think>} (the
     * template's switch), and the next turn's prompt keeps only what follows the answer's {@code </think>}. Oracle: V3.1's
     * prompt text written out here and {@link Generator}. On a template without the switch the flag is refused.
     */
    @Test void chatCommandThinksWithV31sSwitch(@TempDir Path elsewhere) throws Exception {
        var om = new com.fasterxml.jackson.databind.ObjectMapper();
        Path v31 = Files.createDirectories(elsewhere.resolve("v31tok"));
        Files.copy(dir.resolve("tokenizer.json"), v31.resolve("tokenizer.json"));
        om.writeValue(v31.resolve("tokenizer_config.json").toFile(), om.createObjectNode().put("chat_template", dev.jseek.tokenizer.ChatFormat.DEEPSEEK_V3_1.template));
        Path gguf = elsewhere.resolve("v31.gguf");
        dev.jseek.gguf.GgufExporter.export(dir, gguf, dev.jseek.gguf.GgmlType.F32, false, v31.resolve("tokenizer.json"));
        Tokenizer g;
        try (var f = dev.jseek.gguf.GgufFile.open(gguf)) { g = dev.jseek.gguf.GgufTokenizer.read(f); }
        String bos = g.tokenString(g.bosId()), eos = g.tokenString(g.eosId());
        String a1 = generate(g, bos + "<｜User｜>hello<｜Assistant｜><think>");
        int end = a1.indexOf("</think>");
        String reply = end < 0 ? a1 : a1.substring(end + "</think>".length());
        String a2 = generate(g, bos + "<｜User｜>hello<｜Assistant｜></think>" + reply + eos + "<｜User｜>world<｜Assistant｜><think>");
        String[] run = chatCommand("hello\nworld\n\n", "chat", "--model", gguf.toString(), "--temperature", "0", "-n", "6", "--thinking");
        assertEquals("0", run[0], run[2]);
        assertEquals("> " + a1 + "\n> " + a2 + "\n> ", run[1]);

        String[] refused = chatCommand("hello\n\n", "chat", "--model", dir.toString(), "--thinking");
        assertNotEquals("0", refused[0]);
        assertTrue(refused[2].contains("--thinking: the model's chat template (deepseek-v3) has no thinking switch"), refused[2]);
    }

    /**
     * {@code jseek chat --chat-template FILE}: a template of another family, rendered by the Jinja engine, replaces the
     * one the .gguf carries. Oracle: that template's prompt text written out here and {@link Generator}. A missing file
     * and a template outside the engine's subset are refused naming the file.
     */
    @Test void chatCommandTakesATemplateFile(@TempDir Path elsewhere) throws Exception {
        Path gguf = f32Gguf(elsewhere);
        Path template = elsewhere.resolve("plain.jinja");
        Files.writeString(template, "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}"
                + "{% if add_generation_prompt %}[assistant] {% endif %}\n");
        Tokenizer g = ggufTokenizer(gguf);
        String bos = g.tokenString(g.bosId());
        String a1 = generate(g, bos + "[user] hello\n[assistant] ");
        String a2 = generate(g, bos + "[user] hello\n[assistant] " + a1 + "\n[user] world\n[assistant] ");
        String[] run = chatCommand("hello\nworld\n\n", "chat", "--model", gguf.toString(), "--temperature", "0", "-n", "6",
                "--chat-template", template.toString());
        assertEquals("0", run[0], run[2]);
        assertEquals("> " + a1 + "\n> " + a2 + "\n> ", run[1]);

        String[] missing = chatCommand("hello\n\n", "chat", "--model", gguf.toString(), "--chat-template", elsewhere.resolve("none.jinja").toString());
        assertNotEquals("0", missing[0]);
        assertTrue(missing[2].contains("--chat-template: cannot read " + elsewhere.resolve("none.jinja")), missing[2]);
        Path bad = elsewhere.resolve("bad.jinja");
        Files.writeString(bad, "{% for m in messages %}{{ m.content }}");
        String[] refused = chatCommand("hello\n\n", "chat", "--model", gguf.toString(), "--chat-template", bad.toString());
        assertNotEquals("0", refused[0]);
        assertTrue(refused[2].contains("--chat-template: the chat template of " + bad + " (first line \"{% for m in messages %}{{ m.content }}\") "
                + "is not one jseek can render: unexpected end of template: a block is not closed (expected "), refused[2]);
    }

    /**
     * {@code chat --chat-template-kwargs JSON}: the variables reach the template (the answer is the model's on the
     * prompt rendered with them); a name jseek sets, text that is not a JSON object, and a variable other than
     * {@code thinking} for a family template are clear errors.
     */
    @Test void chatCommandPassesTemplateVariables(@TempDir Path elsewhere) throws Exception {
        Path gguf = f32Gguf(elsewhere);
        Path template = elsewhere.resolve("persona.jinja");
        Files.writeString(template, "{{ bos_token }}{% if persona %}({{ persona.name }}, {{ persona.tags | join('+') }}) {% endif %}"
                + "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}\n");
        Tokenizer g = ggufTokenizer(gguf);
        String bos = g.tokenString(g.bosId());
        String a1 = generate(g, bos + "(ada, x+y) [user] hello\n[assistant] ");
        String[] run = chatCommand("hello\n\n", "chat", "--model", gguf.toString(), "--temperature", "0", "-n", "6",
                "--chat-template", template.toString(), "--chat-template-kwargs", "{\"persona\": {\"name\": \"ada\", \"tags\": [\"x\", \"y\"]}}");
        assertEquals("0", run[0], run[2]);
        assertEquals("> " + a1 + "\n> ", run[1]);

        String[] reserved = chatCommand("hello\n\n", "chat", "--model", gguf.toString(), "--chat-template", template.toString(),
                "--chat-template-kwargs", "{\"messages\": []}");
        assertNotEquals("0", reserved[0]);
        assertTrue(reserved[2].contains("--chat-template-kwargs: jseek sets 'messages' itself"), reserved[2]);
        String[] notObject = chatCommand("hello\n\n", "chat", "--model", gguf.toString(), "--chat-template-kwargs", "[1]");
        assertNotEquals("0", notObject[0]);
        assertTrue(notObject[2].contains("--chat-template-kwargs must be a JSON object, got [1]"), notObject[2]);
        String[] family = chatCommand("hello\n\n", "chat", "--model", gguf.toString(), "--chat-template-kwargs", "{\"persona\": 1}");
        assertNotEquals("0", family[0]);
        assertTrue(family[2].contains("--chat-template-kwargs: 'persona': jseek renders this model's chat template (deepseek-v3) itself "
                + "and reads only 'thinking'"), family[2]);
    }

    /** The test model as an F32 .gguf carrying its tokenizer, in {@code into}. */
    static Path f32Gguf(Path into) throws Exception {
        Path gguf = into.resolve("m.gguf");
        dev.jseek.gguf.GgufExporter.export(dir, gguf, dev.jseek.gguf.GgmlType.F32, false, dir.resolve("tokenizer.json"));
        return gguf;
    }

    /** The tokenizer a .gguf carries. */
    static Tokenizer ggufTokenizer(Path gguf) throws Exception {
        try (var f = dev.jseek.gguf.GgufFile.open(gguf)) { return dev.jseek.gguf.GgufTokenizer.read(f); }
    }

    /** Runs the CLI with {@code stdin}: exit code, stdout, stderr. */
    static String[] chatCommand(String stdin, String... args) {
        java.io.InputStream oldIn = System.in;
        java.io.PrintStream oldOut = System.out;
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.StringWriter err = new java.io.StringWriter();
        int rc;
        try {
            System.setIn(new java.io.ByteArrayInputStream(stdin.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            System.setOut(new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8));
            picocli.CommandLine cl = dev.jseek.cli.Jseek.commandLine();
            cl.setErr(new java.io.PrintWriter(err));
            rc = cl.execute(args);
        } finally {
            System.setIn(oldIn);
            System.setOut(oldOut);
        }
        return new String[] {String.valueOf(rc), out.toString(java.nio.charset.StandardCharsets.UTF_8), err.toString()};
    }

    /** Greedy answer (6 tokens at most, stopping at EOS) of the model directory to the prompt text, encoded by {@code t}. */
    static String generate(Tokenizer t, String prompt) {
        try (DeepSeekV3 m = DeepSeekV3.open(dir)) {
            int[] ids = new Generator(m, AttnMode.ABSORB).generate(t.encode(prompt, false), 6, Sampler.greedy(),
                    new int[] {m.config.eosTokenId()}, null).tokens();
            return t.decode(ids, true);
        }
    }

    @Test void chatCompleteAndStreamEqualTheOracle() throws Exception {
        List<Message> msgs = List.of(Message.system("Be brief."), Message.user("hello world"));
        assertEquals(oracle(msgs, 15, Sampler.greedy()), model.chat(msgs, Sampling.greedy(15)).text());
        assertEquals(oracle(msgs, 15, new Sampler(0.7f, 0, 1f, 42)), model.chat(msgs, Sampling.of(15, 0.7f).withSeed(42)).text());
        StringBuilder streamed = new StringBuilder();
        Completion c = model.stream(msgs, Sampling.greedy(15), streamed::append);
        assertEquals(c.text(), streamed.toString());
        assertEquals(oracle(msgs, 15, Sampler.greedy()), c.text());
        try (DeepSeekV3 m = DeepSeekV3.open(dir)) {
            int[] prompt = model.completionPrompt("the model");
            int[] t = new Generator(m, AttnMode.ABSORB).generate(prompt, 10, Sampler.greedy(), new int[] {m.config.eosTokenId()}, null).tokens();
            assertEquals(tok.decode(t, true), model.complete("the model", Sampling.greedy(10)).text());
            // fill in the middle: fim_begin prefix fim_hole suffix fim_end, built by hand
            int[] fim = dev.jseek.tokenizer.PsmIds.of(tok, "int x = ", ";\n");
            int[] mid = new Generator(m, AttnMode.ABSORB).generate(fim, 10, Sampler.greedy(), new int[] {m.config.eosTokenId()}, null).tokens();
            assertEquals(tok.decode(mid, true), model.fill("int x = ", ";\n", Sampling.greedy(10)).text());
        }
    }

    interface Assistant {
        String chat(String message);
    }

    interface StreamingAssistant {
        TokenStream chat(String message);
    }

    @Test void langChain4jAiServicesOverTheAdapter() throws Exception {
        String expect = oracle(List.of(Message.user("hello world")), 12, Sampler.greedy());
        Assistant a = AiServices.create(Assistant.class, new JseekChatModel(model, Sampling.greedy(12), "tiny"));
        assertEquals(expect, a.chat("hello world"));
        StreamingAssistant sa = AiServices.create(StreamingAssistant.class, new JseekStreamingChatModel(model, Sampling.greedy(12), "tiny"));
        StringBuilder partial = new StringBuilder();
        CompletableFuture<String> done = new CompletableFuture<>();
        sa.chat("hello world").onPartialResponse(partial::append)
                .onCompleteResponse(r -> done.complete(r.aiMessage().text())).onError(done::completeExceptionally).start();
        assertEquals(expect, done.get(60, TimeUnit.SECONDS));
        assertEquals(expect, partial.toString());
    }
}
