package dev.jseek.serve;

import static org.junit.jupiter.api.Assertions.*;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionFunctionTool;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionNamedToolChoice;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import dev.jseek.infer.Sampler;
import dev.jseek.tokenizer.ChatTemplate;
import dev.jseek.tokenizer.Message;
import dev.jseek.tokenizer.SpecialTokens;
import dev.langchain4j.model.openai.OpenAiChatModel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real clients against the server: the official OpenAI Java client (chat, streaming, completions, models, tool
 * calls, an error) and LangChain4j's OpenAI chat model. Oracle: {@link dev.jseek.infer.Generator} +
 * {@link ChatTemplate} + {@link dev.jseek.tokenizer.Tokenizer#decode} on the same prompt ({@link TestServer#oracle}).
 */
@Timeout(120)
class OpenAiClientTest {
    @TempDir static Path tmp;
    static TestServer s;
    static OpenAIClient client;

    @BeforeAll static void start() throws Exception {
        TestServer.buildModel(tmp, 21, 512);
        s = new TestServer(tmp, new SamplingParams.Defaults(12, 0.6f));
        client = OpenAIOkHttpClient.builder().baseUrl(s.url("/v1")).apiKey("none").maxRetries(0)
                .timeout(Duration.ofSeconds(60)).build();
    }

    @AfterAll static void stop() {
        if (client != null) client.close();
        if (s != null) s.close();
    }

    static final List<Message> MSGS = List.of(Message.user("hello world"));

    @Test void chatAndStreamingEqualTheOracle() throws Exception {
        TestServer.Expected e = s.oracle(ChatTemplate.encode(s.tokenizer, MSGS, true), 16, Sampler.greedy());
        ChatCompletionCreateParams p = ChatCompletionCreateParams.builder().model("tiny-test").addUserMessage("hello world")
                .maxCompletionTokens(16).temperature(0.0).build();
        ChatCompletion c = client.chat().completions().create(p);
        assertEquals(e.text(), c.choices().get(0).message().content().orElse(""));
        assertEquals(e.tokens().length, c.usage().orElseThrow().completionTokens());
        assertEquals(e.prompt().length, c.usage().orElseThrow().promptTokens());
        StringBuilder sb = new StringBuilder();
        List<String> finishes = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> st = client.chat().completions().createStreaming(p)) {
            st.stream().forEach(ch -> ch.choices().forEach(x -> {
                x.delta().content().ifPresent(sb::append);
                x.finishReason().ifPresent(f -> finishes.add(f.asString()));
            }));
        }
        assertEquals(e.text(), sb.toString());
        assertEquals(List.of(e.finishReason()), finishes);
    }

    @Test void completionsAndModels() throws Exception {
        int[] prompt = s.runner.completionPrompt("the model reads");
        TestServer.Expected e = s.oracle(prompt, 10, new Sampler(0.8f, 0, 1f, 5));
        Completion c = client.completions().create(CompletionCreateParams.builder().model("tiny-test").prompt("the model reads")
                .maxTokens(10).temperature(0.8).seed(5).build());
        assertEquals(e.text(), c.choices().get(0).text());
        assertEquals(List.of("tiny-test"), client.models().list().data().stream().map(m -> m.id()).toList());
    }

    /**
     * The official client's completion fields beyond the basics reach the server as it sends them: an array of
     * prompts (choices in order), {@code suffix} (fill in the middle), penalties and {@code logit_bias}. Oracles: the
     * single-sequence decoder with the sampler those fields make, on the prompts built by hand.
     */
    @Test void completionsWithPromptArraysSuffixPenaltiesAndLogitBias() throws Exception {
        List<String> texts = List.of("the model reads", "a cache of");
        Completion many = client.completions().create(CompletionCreateParams.builder().model("tiny-test").promptOfArrayOfStrings(texts)
                .maxTokens(8).temperature(0.0).presencePenalty(-1.0).frequencyPenalty(0.5).build());
        assertEquals(2, many.choices().size());
        for (int i = 0; i < texts.size(); i++) {
            TestServer.Expected e = s.oracle(s.runner.completionPrompt(texts.get(i)), 8, new Sampler(0f, 0, 1f, 0L, -1.0f, 0.5f));
            assertEquals(e.text(), many.choices().get(i).text(), "prompt " + i);
            assertEquals(i, many.choices().get(i).index());
        }

        int[] fim = dev.jseek.tokenizer.PsmIds.of(s.tokenizer, "int x = ", ";");
        int banned = s.oracle(fim, 1, Sampler.greedy()).tokens()[0];
        dev.jseek.infer.LogitBias bias = new dev.jseek.infer.LogitBias(new int[] {banned}, new float[] {-100f});
        TestServer.Expected e = s.oracle(fim, 8, new Sampler(0f, 0, 1f, 0L, 0f, 0f, bias));
        Completion filled = client.completions().create(CompletionCreateParams.builder().model("tiny-test").prompt("int x = ").suffix(";")
                .maxTokens(8).temperature(0.0).logitBias(CompletionCreateParams.LogitBias.builder()
                        .putAdditionalProperty(Integer.toString(banned), JsonValue.from(-100)).build()).build());
        assertEquals(e.text(), filled.choices().get(0).text());
        assertNotEquals(banned, e.tokens()[0]);
    }

    @Test void aForcedToolCallComesBackAsToolCalls() throws Exception {
        FunctionDefinition fn = FunctionDefinition.builder().name("get_weather").description("The weather in a city")
                .parameters(FunctionParameters.builder().putAdditionalProperty("type", JsonValue.from("object"))
                        .putAdditionalProperty("properties", JsonValue.from(Map.of("city", Map.of("type", "string")))).build())
                .build();
        ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder().model("tiny-test")
                .addUserMessage("hello world").maxCompletionTokens(12).temperature(0.0)
                .addTool(ChatCompletionFunctionTool.builder().function(fn).build())
                .toolChoice(ChatCompletionNamedToolChoice.builder().function(
                        ChatCompletionNamedToolChoice.Function.builder().name("get_weather").build()).build())
                .build());
        var choice = c.choices().get(0);
        List<ChatCompletionMessageFunctionToolCall> calls = choice.message().toolCalls().orElseThrow().stream()
                .map(t -> t.asFunction()).toList();
        assertEquals(1, calls.size());
        assertEquals("get_weather", calls.get(0).function().name());
        assertEquals("tool_calls", choice.finishReason().asString());
        // oracle: the same prompt (functions in the system prompt, the answer started up to the arguments) through
        // Generator; the arguments are the generated text with its special tokens, up to the end of the call
        Tools tools = Tools.parse((com.fasterxml.jackson.databind.node.ObjectNode) TestServer.JSON.readTree(
                "{\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"The weather in a city\","
                        + "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}}],"
                        + "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}}"));
        int[] prompt = tools.prompt(s.runner, MSGS);
        int[] forced = s.tokenizer.encode(tools.forced(dev.jseek.tokenizer.ToolCallSyntax.DEEPSEEK_V3), false);
        assertArrayEquals(forced, Arrays.copyOfRange(prompt, prompt.length - forced.length, prompt.length));
        TestServer.Expected e = s.oracleChunked(prompt, 12, Sampler.greedy(), 64);
        String args = s.tokenizer.decode(e.tokens(), false);
        for (String end : new String[] {SpecialTokens.TOOL_CALL_END, SpecialTokens.EOS, SpecialTokens.TOOL_CALLS_END}) {
            int k = args.indexOf(end);
            if (k >= 0) args = args.substring(0, k);
        }
        args = args.strip();
        if (args.endsWith("```")) args = args.substring(0, args.length() - 3).strip();
        assertEquals(args.isEmpty() ? "{}" : args, calls.get(0).function().arguments());
    }

    @Test void anErrorIsABadRequestException() {
        BadRequestException ex = assertThrows(BadRequestException.class, () -> client.chat().completions().create(
                ChatCompletionCreateParams.builder().model("tiny-test").addUserMessage("hi").temperature(-1.0).build()));
        assertEquals(400, ex.statusCode());
        assertTrue(ex.getMessage().contains("temperature"), ex.getMessage());
    }

    @Test void langChain4jOpenAiChatModelIsASecondClient() throws Exception {
        TestServer.Expected e = s.oracle(ChatTemplate.encode(s.tokenizer, MSGS, true), 14, Sampler.greedy());
        OpenAiChatModel m = OpenAiChatModel.builder().baseUrl(s.url("/v1")).apiKey("none").modelName("tiny-test")
                .temperature(0.0).maxTokens(14).maxRetries(0).timeout(Duration.ofSeconds(60)).build();
        assertEquals(e.text(), m.chat("hello world"));
    }
}
