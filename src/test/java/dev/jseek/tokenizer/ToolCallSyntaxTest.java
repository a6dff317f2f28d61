package dev.jseek.tokenizer;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The tool-call syntax of each template is the one the template renders: an assistant turn's calls rendered by
 * {@link ChatFormat} (whose renderings {@link ChatTemplateJinjaTest} checks byte for byte against the templates run
 * by @huggingface/jinja and Python's jinja2) parse back into the same calls, and where a template writes the
 * arguments as they are, its rendering contains {@link ToolCallSyntax#call} exactly. So the syntax the server
 * describes to a model and parses from its answer is the one its template taught it.
 */
class ToolCallSyntaxTest {
    static final ToolCall WEATHER = ToolCall.function("get_weather", "{\"city\": \"Paris\", \"note\": \"a \\\"quoted\\\" word\\n\"}");
    static final ToolCall TIME = ToolCall.function("get_time", "{\"tz\": \"CET\"}");

    @Test void callsRenderedByEachTemplateParseBack() {
        List<Message> chat = List.of(Message.user("Weather and time in Paris?"), Message.toolCalls(WEATHER, TIME),
                Message.tool("sunny"), Message.tool("noon"), Message.assistant("Sunny, at noon."), Message.user("Thanks"));
        int checked = 0;
        for (ChatFormat f : ChatFormat.values()) {
            ToolCallSyntax s = f.toolCalls();
            if (s == null) {
                assertSame(ChatFormat.DEEPSEEK_V2, f); // its template has no tool calls (it requires every message's content)
                continue;
            }
            String text = f.render(chat, true);
            assertEquals(List.of(WEATHER, TIME), s.parse(text), f.label + ": " + text);
            // the arguments as the template wrote them: as they are, or (llama.cpp's copies) as one JSON string
            boolean quoted = f == ChatFormat.KIMI_K2 || f == ChatFormat.DEEPSEEK_V3_1_LLAMA_CPP;
            String first = s.call(WEATHER.name(), quoted ? ChatFormat.json(WEATHER.arguments()) : WEATHER.arguments(), 0);
            assertTrue(text.contains(first), f.label + " renders " + first + " in " + text);
            checked++;
        }
        assertEquals(ChatFormat.values().length - 1, checked);
    }

    @Test void aForcedStartIsTheRenderedCallsBeginning() {
        for (ToolCallSyntax s : ToolCallSyntax.values()) {
            String call = s.sectionBegin + s.call("get_weather", "{}", 0);
            assertTrue(call.startsWith(s.start("get_weather")), s + ": " + s.start("get_weather"));
            assertTrue(s.start("get_weather").startsWith(s.start(null)), s.name());
            // the model continues a forced start: the name part (required) or the arguments (a named function)
            assertEquals(List.of(ToolCall.function("get_weather", "{\"city\": \"Oslo\"}")),
                    s.parse(s.start(null) + call.substring(s.start(null).length()).replace("{}", "{\"city\": \"Oslo\"}")));
            assertEquals(List.of(ToolCall.function("get_weather", "{\"city\": \"Oslo\"}")),
                    s.parse(s.start("get_weather") + "{\"city\": \"Oslo\"}" + s.callEnd + s.sectionEnd));
        }
    }

    @Test void cutOffAndSurroundedCallsAreReadLeniently() {
        // no section: no calls, even with a call-begin token in the text
        for (ToolCallSyntax s : ToolCallSyntax.values()) assertEquals(List.of(), s.parse("no call here " + s.callBegin), s.name());
        // a call cut off by max_tokens keeps the arguments written so far
        assertEquals(List.of(ToolCall.function("f", "{\"a\": 1")), ToolCallSyntax.DEEPSEEK_V3_1.parse(
                "Let me look." + SpecialTokens.TOOL_CALLS_BEGIN + SpecialTokens.TOOL_CALL_BEGIN + "f" + SpecialTokens.TOOL_SEP + "{\"a\": 1"));
        // text before the section and after it is ignored; EOS inside the arguments ends them
        assertEquals(List.of(ToolCall.function("f", "{}")), ToolCallSyntax.DEEPSEEK_V3.parse("x" + SpecialTokens.TOOL_CALLS_BEGIN
                + SpecialTokens.TOOL_CALL_BEGIN + "function" + SpecialTokens.TOOL_SEP + "f\n```json\n{}\n```" + SpecialTokens.EOS));
        // Kimi's call ids: functions.NAME:I, a name with a dot kept whole after the prefix
        assertEquals(List.of(ToolCall.function("web.search", "{\"q\": \"x\"}"), ToolCall.function("g", "{}")),
                ToolCallSyntax.KIMI_K2.parse("<|tool_calls_section_begin|><|tool_call_begin|>functions.web.search:0<|tool_call_argument_begin|>"
                        + "{\"q\": \"x\"}<|tool_call_end|><|tool_call_begin|>functions.g:1<|tool_call_argument_begin|><|tool_call_end|>"
                        + "<|tool_calls_section_end|>"));
        // a call without a name is dropped
        assertEquals(List.of(), ToolCallSyntax.DEEPSEEK_V3_1.parse(SpecialTokens.TOOL_CALLS_BEGIN + SpecialTokens.TOOL_CALL_BEGIN
                + SpecialTokens.TOOL_SEP + "{}" + SpecialTokens.TOOL_CALL_END));
    }

    @Test void onlyAQuotedObjectOrArrayIsUnquoted() {
        assertEquals("{\"a\": \"b\\n\"}", ToolCallSyntax.unquote(ChatFormat.json("{\"a\": \"b\\n\"}")));
        assertEquals("[1, 2]", ToolCallSyntax.unquote("\"[1, 2]\""));
        assertEquals("\"plain text\"", ToolCallSyntax.unquote("\"plain text\""));
        assertEquals("\"a\" \"b\"", ToolCallSyntax.unquote("\"a\" \"b\""));
        assertEquals("{\"x\": 1}", ToolCallSyntax.unquote("{\"x\": 1}"));
        assertEquals("{\"é\": \"\\u00e9\"}", ToolCallSyntax.unquote(ChatFormat.json("{\"é\": \"\\u00e9\"}")));
    }
}
