package dev.jseek.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.gguf.GgufValue;
import dev.jseek.gguf.GgufWriter;
import dev.jseek.tokenizer.ByteLevel;
import dev.jseek.tokenizer.ChatFormat;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code jseek inspect --model F.gguf} says how chats with the file's tokenizer are rendered: a family template by
 * jseek's renderer (with its tool-call syntax), any other by the Jinja engine, one outside the engine's subset with the
 * reason; a file without a tokenizer says so.
 */
class InspectGgufTemplateTest {
    static Path gguf(Path dir, String name, String template) throws Exception {
        List<String> tokens = new ArrayList<>();
        for (int b = 0; b < 256; b++) tokens.add(String.valueOf(ByteLevel.byteToChar(b)));
        GgufWriter w = new GgufWriter();
        w.put("tokenizer.ggml.model", GgufValue.string("gpt2"));
        w.put("tokenizer.ggml.pre", GgufValue.string("deepseek-v3"));
        w.put("tokenizer.ggml.tokens", GgufValue.stringArray(tokens));
        if (template != null) w.put("tokenizer.chat_template", GgufValue.string(template));
        Path f = dir.resolve(name);
        w.write(f);
        return f;
    }

    @Test void printsTheChatTemplatePath(@TempDir Path tmp) throws Exception {
        ExportCommandTest.Run r = ExportCommandTest.run("inspect", "--model", gguf(tmp, "r1.gguf", ChatFormat.DEEPSEEK_R1.template).toString());
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("tokenizer: 256 tokens\nchat template: deepseek-r1: jseek's renderer; tool calls in DeepSeek-V3 syntax; "
                + "answers open with reasoning\n"), r.out());

        r = ExportCommandTest.run("inspect", "--model", gguf(tmp, "v31.gguf", ChatFormat.DEEPSEEK_V3_1.template).toString());
        assertTrue(r.out().contains("chat template: deepseek-v3.1: jseek's renderer; tool calls in DeepSeek-V3.1 syntax; thinking switch\n"), r.out());

        r = ExportCommandTest.run("inspect", "--model", gguf(tmp, "chatml.gguf",
                "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}").toString());
        assertTrue(r.out().contains("chat template: rendered by jseek's Jinja engine (first line \"{% for m in messages %}<|im_start|>{{ m.role }}\"); "
                + "no tools; chat_template_kwargs are template variables\n"), r.out());

        Path bad = gguf(tmp, "bad.gguf", "{% include 'x.jinja' %}");
        r = ExportCommandTest.run("inspect", "--model", bad.toString());
        assertTrue(r.out().contains("chat template: none: the chat template of " + bad + " (first line \"{% include 'x.jinja' %}\") is not one "
                + "jseek can render: unknown or unsupported tag 'include'"), r.out());

        // no template and no V3 role tokens in this byte vocabulary
        r = ExportCommandTest.run("inspect", "--model", gguf(tmp, "none.gguf", null).toString());
        assertTrue(r.out().contains("chat template: none: "), r.out());
        assertTrue(r.out().contains("carries no chat template"), r.out());
    }
}
