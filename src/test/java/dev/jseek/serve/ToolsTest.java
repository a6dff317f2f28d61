package dev.jseek.serve;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jseek.infer.EngineOptions;
import dev.jseek.api.PromptStart;
import dev.jseek.model.DeepSeekV3;
import dev.jseek.tensor.DType;
import dev.jseek.tokenizer.ChatFormat;
import dev.jseek.tokenizer.ChatTemplate;
import dev.jseek.tokenizer.KimiTestVocabulary;
import dev.jseek.tokenizer.Message;
import dev.jseek.tokenizer.Tokenizer;
import dev.jseek.tokenizer.ToolCallSyntax;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server's function calling follows the model's chat template: a Kimi-K2 model is told Kimi's call syntax, its
 * forced call starts in that syntax, and what it generates after the forced start parses back as a call of the named
 * function; a model whose template has no tool calls (DeepSeek-V2's) refuses {@code tools} with a 400 naming it. The
 * oracle for the prompt is the template's own rendering ({@link ChatTemplate#encode}) of the same conversation.
 */
class ToolsTest {
    static final String REQUEST = "{\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"The weather\","
            + "\"parameters\":{\"type\":\"object\"}}}],\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}}";

    static ModelRunner runner(Path d, String template) throws Exception {
        var v = KimiTestVocabulary.train(KimiTestVocabulary.MULTILINGUAL, 300);
        Tokenizer t = Tokenizer.fromVocabulary(d.resolve("kimi.gguf"), v.tokens(), v.types(), v.merges(), v.bos(), v.eos(), false,
                template, Tokenizer.KIMI_K2_PRE);
        var cfg = dev.jseek.model.ConfigEdits.edit(dev.jseek.model.Presets.get("tiny"),
                o -> o.put("vocab_size", t.vocabSize()).put("max_position_embeddings", 512).putNull("rope_scaling"));
        dev.jseek.model.RandomInit.write(cfg, d, 3, 0.3, DType.F32);
        return new ModelRunner(DeepSeekV3.open(d), t, PromptStart.AUTO, EngineOptions.defaults().withCacheBytes(1L << 23));
    }

    @Test void aKimiModelIsToldAndParsedInKimisSyntax(@TempDir Path d) throws Exception {
        Tools tools = Tools.parse((ObjectNode) TestServer.JSON.readTree(REQUEST));
        try (ModelRunner r = runner(d, ChatFormat.KIMI_K2_INSTRUCT.template)) {
            assertSame(ToolCallSyntax.KIMI_K2, Tools.syntax(r));
            List<Message> msgs = List.of(Message.user("Weather in Oslo?"));
            int[] prompt = tools.prompt(r, msgs);
            String forced = "<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>";
            assertEquals(forced, tools.forced(ToolCallSyntax.KIMI_K2));
            int[] system = ChatTemplate.encode(r.tokenizer(), List.of(Message.system(tools.describeFunctions(ToolCallSyntax.KIMI_K2)),
                    msgs.get(0)), true);
            int[] f = r.tokenizer().encode(forced, false);
            assertArrayEquals(system, Arrays.copyOf(prompt, system.length));
            assertArrayEquals(f, Arrays.copyOfRange(prompt, system.length, prompt.length));
            assertTrue(tools.describeFunctions(ToolCallSyntax.KIMI_K2).contains(
                    "<|tool_calls_section_begin|><|tool_call_begin|>functions.NAME:0<|tool_call_argument_begin|>ARGUMENTS<|tool_call_end|>"));

            // what the model writes after the forced start comes back as a call of the named function
            SamplingParams p = SamplingParams.parse((ObjectNode) TestServer.JSON.readTree("{\"max_tokens\": 6, \"temperature\": 0}"),
                    new SamplingParams.Defaults(6, 0f));
            ModelRunner.Outcome o = tools.parse(r, r.run(prompt, "messages", p, null));
            assertEquals(1, o.toolCalls().size(), o.text());
            assertEquals("get_weather", o.toolCalls().get(0).name());
            assertEquals(ToolCallSyntax.KIMI_K2.parse(forced + o.text()).get(0), o.toolCalls().get(0));
        }
    }

    @Test void aTemplateWithoutToolCallsRefusesTools(@TempDir Path d) throws Exception {
        Tools tools = Tools.parse((ObjectNode) TestServer.JSON.readTree(REQUEST));
        try (ModelRunner r = runner(d, ChatFormat.DEEPSEEK_V2.template)) {
            ApiError e = assertThrows(ApiError.class, () -> tools.prompt(r, List.of(Message.user("hi"))));
            assertEquals(400, e.status());
            assertEquals("the model's chat template (deepseek-v2) has no tool-call format, so the model cannot call functions: "
                    + "send the request without tools", e.getMessage());
            // without tools the same model chats
            assertArrayEquals(ChatTemplate.encode(r.tokenizer(), List.of(Message.user("hi")), true),
                    Tools.NONE.prompt(r, List.of(Message.user("hi"))));
        }
    }
}
