package dev.jseek.tokenizer;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.gguf.GgufFile;
import dev.jseek.gguf.GgufTokenizer;
import dev.jseek.gguf.GgufValue;
import dev.jseek.gguf.GgufWriter;
import dev.jseek.gguf.HfTokenizerMetadata;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which chat template a tokenizer brings decides the prompt: each of {@link ChatFormat}'s texts is recognized from a
 * GGUF's {@code tokenizer.chat_template} (also with its newlines written the other way, as a JSON escape or a real
 * newline, and with surrounding whitespace), a one-character change is not, an unknown template is refused naming
 * its first line and the templates jseek renders, and a GGUF alone chats with its own template (R1's generation
 * prompt, V2's "User: ... Assistant:" with the deepseek-llm pre-tokenizer). The renderings themselves are checked
 * against @huggingface/jinja by {@link ChatTemplateJinjaTest}.
 */
class ChatFormatTest {

    @Test void eachTemplateIsRecognizedByItsTextOnly() {
        for (ChatFormat f : ChatFormat.values()) {
            assertSame(f, ChatFormat.of(f.template), f.label);
            assertSame(f, ChatFormat.of("\n " + f.template + "\n"), f.label + " with surrounding whitespace");
            String otherNewlines = f.template.contains("\\n") ? f.template.replace("\\n", "\n") : f.template.replace("\n", "\\n");
            assertNotEquals(f.template, otherNewlines, f.label + " has newlines in its string literals");
            // Kimi's are compared exactly: a backslash-n outside a string literal renders as itself
            assertSame(f.exact() ? null : f, ChatFormat.of(otherNewlines), f.label + " with its newlines written the other way");
            assertNull(ChatFormat.of(f.template.replace("'user'", "'User'")), f.label + " changed");
            assertTrue(ChatTemplate.renders(f.template));
        }
        assertNull(ChatFormat.of(null));
        assertTrue(ChatTemplate.renders(null));
        // the texts are distinct
        assertEquals(ChatFormat.values().length, java.util.Arrays.stream(ChatFormat.values()).map(f -> f.template.strip()).distinct().count());
    }

    @Test void anUnknownTemplateRendersWithTheJinjaEngineAndOneOutsideItsSubsetIsRefused(@TempDir Path tmp) {
        List<String> tokens = new java.util.ArrayList<>();
        for (int b = 0; b < 256; b++) tokens.add(String.valueOf(ByteLevel.byteToChar(b)));
        int[] types = new int[256];
        java.util.Arrays.fill(types, 1);
        String template = "{%- for message in messages %}\n{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}\n"
                + "{%- endfor %}\n{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
        Path src = tmp.resolve("qwen.gguf");
        Tokenizer t = Tokenizer.fromVocabulary(src, tokens, types, List.of(), -1, -1, false, template, Tokenizer.DEEPSEEK_LLM_PRE);
        assertNull(ChatTemplate.formatOf(t));
        assertNull(ChatTemplate.unsupported(t));
        assertTrue(ChatTemplate.rendersWithJinja(t));
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
                ChatTemplate.render(t, List.of(Message.system("Be brief."), Message.user("Hi")), true));
        assertEquals("the model's chat template (first line \"{%- for message in messages %}\") is none of the DeepSeek family's, so "
                + "jseek knows no thinking switch in it (DeepSeek-V3.1's has one)", ChatTemplate.noThinkingSwitch(t));

        // the template's own refusal reaches the user as its message
        Tokenizer strict = Tokenizer.fromVocabulary(src, tokens, types, List.of(), -1, -1, false,
                "{% if messages[0]['role'] != 'user' %}{{ raise_exception('Conversations must start with a user message') }}{% endif %}ok",
                Tokenizer.DEEPSEEK_LLM_PRE);
        assertEquals("ok", ChatTemplate.render(strict, List.of(Message.user("x")), true));
        IllegalArgumentException r = assertThrows(IllegalArgumentException.class,
                () -> ChatTemplate.encode(strict, List.of(Message.system("s"), Message.user("x")), true));
        assertEquals("the chat template of " + src + " refuses this conversation: Conversations must start with a user message", r.getMessage());

        // outside the engine's subset (template inheritance): refused, naming the tokenizer, the first line and the reason
        Tokenizer other = Tokenizer.fromVocabulary(src, tokens, types, List.of(), -1, -1, false,
                "{% extends 'base.jinja' %}\n{% block body %}{% endblock %}", Tokenizer.DEEPSEEK_LLM_PRE);
        String why = ChatTemplate.unsupported(other);
        assertEquals("the chat template of " + src + " (first line \"{% extends 'base.jinja' %}\") is not one jseek can render: unknown or "
                + "unsupported tag 'extends' (jseek's Jinja renders chat templates: if, for, set, macro, filter, with, break, continue, raw, "
                + "generation) (template line 1). Use completions, or give a tokenizer whose chat_template is one of the DeepSeek family's "
                + "(deepseek-v3, deepseek-r1, deepseek-r1 (January 2025), deepseek-v3-0324, deepseek-v2, deepseek-v3.1, deepseek-v3.1 "
                + "(llama.cpp's copy), kimi-k2, kimi-k2-instruct, kimi-k2-thinking) or within the Jinja subset chat templates use "
                + "(docs/tokenizer.md)", why);
        assertFalse(ChatTemplate.rendersWithJinja(other));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ChatTemplate.encode(other, List.of(Message.user("x")), true));
        assertEquals(why, e.getMessage());

        // no template: DeepSeek-V3's only where the vocabulary has its role tokens (a DeepSeek-V2 vocabulary has not)
        Tokenizer none = Tokenizer.fromVocabulary(src, tokens, types, List.of(), -1, -1, false, null, Tokenizer.DEEPSEEK_LLM_PRE);
        assertNull(ChatTemplate.formatOf(none));
        assertEquals(src + " carries no chat template, and its vocabulary lacks the <｜User｜> / <｜Assistant｜> tokens of DeepSeek-V3's "
                + "(the template jseek uses when there is none): use completions, or give a tokenizer with a chat_template", ChatTemplate.unsupported(none));
        List<String> withRoles = new java.util.ArrayList<>(tokens);
        withRoles.add(SpecialTokens.USER);
        withRoles.add(SpecialTokens.ASSISTANT);
        int[] types2 = java.util.Arrays.copyOf(types, 258);
        types2[256] = types2[257] = 3;
        Tokenizer v3like = Tokenizer.fromVocabulary(src, withRoles, types2, List.of(), -1, -1, false, null, Tokenizer.DEEPSEEK_V3_PRE);
        assertSame(ChatFormat.DEEPSEEK_V3, ChatTemplate.formatOf(v3like));
        assertNull(ChatTemplate.unsupported(v3like));
    }

    @Test void aGgufAloneChatsWithItsOwnTemplate(@TempDir Path tmp) throws Exception {
        Path v3json = TestData.deepseekV3();
        List<Message> chat = List.of(Message.system("Be brief."), Message.user("Hi"), Message.assistant("<think>greet</think>Hello."), Message.user("Bye"));

        // DeepSeek-R1: the prompt ends with "<｜Assistant｜><think>\n", the earlier reasoning is dropped
        Tokenizer r1 = gguf(tmp.resolve("r1"), v3json,
                ChatFormat.DEEPSEEK_R1.template.replace("\\n", "\n"), Tokenizer.DEEPSEEK_V3_PRE);
        assertSame(ChatFormat.DEEPSEEK_R1, ChatTemplate.formatOf(r1));
        String text = "<｜begin▁of▁sentence｜>Be brief.<｜User｜>Hi<｜Assistant｜>Hello.<｜end▁of▁sentence｜><｜User｜>Bye<｜Assistant｜><think>\n";
        assertEquals(text, ChatTemplate.render(r1, chat, true));
        assertArrayEquals(r1.encode(text, false), ChatTemplate.encode(r1, chat, true));
        assertEquals(r1.bosId(), ChatTemplate.encode(r1, chat, true)[0]);

        // DeepSeek-V2: the deepseek-llm pre-tokenizer and "User: ... Assistant:" with the tokenizer's BOS/EOS
        Tokenizer v2 = gguf(tmp.resolve("v2"), FamilyTokenizers.tokenizerJson(tmp.resolve("v2"), Tokenizer.DEEPSEEK_LLM_PRE),
                ChatFormat.DEEPSEEK_V2.template, Tokenizer.DEEPSEEK_LLM_PRE);
        assertSame(ChatFormat.DEEPSEEK_V2, ChatTemplate.formatOf(v2));
        String v2text = "<｜begin▁of▁sentence｜>Be brief.\n\nUser: Hi\n\nAssistant: <think>greet</think>Hello.<｜end▁of▁sentence｜>User: Bye\n\nAssistant:";
        assertEquals(v2text, ChatTemplate.render(v2, chat, true));
        assertArrayEquals(v2.encode(v2text, false), ChatTemplate.encode(v2, chat, true));

        // DeepSeek-V3-0324: no generation prompt after a user turn (the user turn carries <｜Assistant｜>)
        Tokenizer v30324 = gguf(tmp.resolve("v3"), v3json,
                ChatFormat.DEEPSEEK_V3_0324.template, Tokenizer.DEEPSEEK_V3_PRE);
        assertEquals("<｜begin▁of▁sentence｜><｜User｜>Hi<｜Assistant｜>", ChatTemplate.render(v30324, List.of(Message.user("Hi")), true));

        // DeepSeek-V3.1: the thinking switch
        Tokenizer v31 = gguf(tmp.resolve("v31"), v3json, ChatFormat.DEEPSEEK_V3_1.template, Tokenizer.DEEPSEEK_V3_PRE);
        assertSame(ChatFormat.DEEPSEEK_V3_1, ChatTemplate.formatOf(v31));
        assertEquals("<｜begin▁of▁sentence｜>Be brief.<｜User｜>Hi<｜Assistant｜></think>Hello.<｜end▁of▁sentence｜><｜User｜>Bye<｜Assistant｜></think>",
                ChatTemplate.render(v31, chat, true));
        assertTrue(ChatTemplate.render(v31, chat, true, true).endsWith("<｜User｜>Bye<｜Assistant｜><think>"));
        // llama.cpp's rewritten copy of it closes an empty <think></think> instead
        Tokenizer v31cpp = gguf(tmp.resolve("v31cpp"), v3json, ChatFormat.DEEPSEEK_V3_1_LLAMA_CPP.template, Tokenizer.DEEPSEEK_V3_PRE);
        assertSame(ChatFormat.DEEPSEEK_V3_1_LLAMA_CPP, ChatTemplate.formatOf(v31cpp));
        assertTrue(ChatTemplate.render(v31cpp, chat, true).endsWith("<｜User｜>Bye<｜Assistant｜><think></think>"));
    }

    @Test void aKimiK2GgufAloneChatsAndStopsAtTheEndOfTurn(@TempDir Path tmp) throws Exception {
        KimiTestVocabulary.Vocabulary v = KimiTestVocabulary.train(KimiTestVocabulary.MULTILINGUAL, 1000);
        for (ChatFormat f : List.of(ChatFormat.KIMI_K2, ChatFormat.KIMI_K2_INSTRUCT)) {
            GgufWriter w = new GgufWriter();
            w.put("tokenizer.ggml.model", GgufValue.string("gpt2"));
            w.put("tokenizer.ggml.pre", GgufValue.string(Tokenizer.KIMI_K2_PRE));
            w.put("tokenizer.ggml.tokens", GgufValue.stringArray(v.tokens()));
            w.put("tokenizer.ggml.token_type", GgufValue.i32Array(v.types()));
            w.put("tokenizer.ggml.merges", GgufValue.stringArray(v.merges()));
            w.put("tokenizer.ggml.bos_token_id", GgufValue.u32(v.bos()));
            w.put("tokenizer.ggml.eos_token_id", GgufValue.u32(v.eos()));
            w.put("tokenizer.chat_template", GgufValue.string(f.template));
            Path file = tmp.resolve(f.label + ".gguf");
            w.write(file);
            Tokenizer t;
            try (GgufFile g = GgufFile.open(file)) { t = GgufTokenizer.read(g); }
            assertSame(f, ChatTemplate.formatOf(t));
            List<Message> chat = List.of(Message.user("你好"), Message.assistant("Hi!"), Message.user("Bye"));
            String text = ChatTemplate.render(t, chat, true);
            assertTrue(text.endsWith("<|im_user|>user<|im_middle|>Bye<|im_end|><|im_assistant|>assistant<|im_middle|>"), text);
            int[] ids = ChatTemplate.encode(t, chat, true);
            assertEquals(v.id("<|im_system|>"), ids[0]); // the default system turn, no BOS
            assertEquals(v.id("<|im_middle|>"), ids[ids.length - 1]);
            assertEquals(text, t.decode(ids));
            // turns end with <|im_end|>: a generation stops there, at [EOS], [EOT] and [PAD] (llama.cpp's set)
            int[] eog = {v.id("[EOS]"), v.id("<|im_end|>"), v.id("[EOT]"), v.id("[PAD]")};
            java.util.Arrays.sort(eog);
            assertArrayEquals(eog, t.endOfGenerationIds());
        }
    }

    /** A GGUF holding {@code json}'s vocabulary (pre-tokenizer named in it) and {@code template}, read back. */
    static Tokenizer gguf(Path dir, Path json, String template, String expectPre) throws Exception {
        GgufWriter w = new GgufWriter();
        HfTokenizerMetadata.write(json, 129280, w);
        w.put("tokenizer.ggml.bos_token_id", GgufValue.u32(0));
        w.put("tokenizer.ggml.eos_token_id", GgufValue.u32(1));
        w.put("tokenizer.chat_template", GgufValue.string(template));
        Path file = dir.resolve("tok.gguf");
        java.nio.file.Files.createDirectories(dir);
        w.write(file);
        try (GgufFile f = GgufFile.open(file)) {
            if (expectPre != null) assertEquals(expectPre, f.get("tokenizer.ggml.pre").asString());
            return GgufTokenizer.read(f);
        }
    }
}
