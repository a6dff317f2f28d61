package dev.jseek.serve;

import dev.jseek.api.PromptStart;
import dev.jseek.api.StopOracle;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.jseek.infer.Sampler;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /v1/completions} against the oracle: the prompt's ids built by hand (EOS, then the text's ids: the
 * {@link PromptStart#AUTO} rule for a tokenizer without add_bos_token), {@link dev.jseek.infer.Generator} run
 * directly, {@link dev.jseek.tokenizer.Tokenizer#decode}. Also the EOS stop and the context limits.
 */
class CompletionsTest {
    @TempDir static Path tmp;
    static TestServer s;

    @BeforeAll static void start() throws Exception {
        TestServer.buildModel(tmp.resolve("m"), 5);
        s = new TestServer(tmp.resolve("m"), new SamplingParams.Defaults(16, 0.6f));
    }

    @AfterAll static void stop() { if (s != null) s.close(); }

    static final String PROMPT = "the model reads a token and";

    int[] promptIds() {
        int[] t = s.tokenizer.encode(PROMPT, false);
        int[] r = new int[t.length + 1];
        r[0] = s.tokenizer.eosId();
        System.arraycopy(t, 0, r, 1, t.length);
        return r;
    }

    @Test void greedyTextAndUsageEqualTheOracle() throws Exception {
        HttpResponse<String> r = s.post("/v1/completions", "{\"model\":\"x\",\"prompt\":\"" + PROMPT + "\",\"max_tokens\":18,\"temperature\":0}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode j = TestServer.json(r);
        TestServer.Expected e = s.oracle(promptIds(), 18, Sampler.greedy());
        assertTrue(j.get("id").asText().startsWith("cmpl-"));
        assertEquals("text_completion", j.get("object").asText());
        assertEquals("tiny-test", j.get("model").asText());
        JsonNode c = j.get("choices").get(0);
        assertEquals(e.text(), c.get("text").asText());
        assertEquals(0, c.get("index").asInt());
        assertEquals(e.finishReason(), c.get("finish_reason").asText());
        assertEquals(e.prompt().length, j.get("usage").get("prompt_tokens").asInt());
        assertEquals(e.tokens().length, j.get("usage").get("completion_tokens").asInt());
        assertEquals(e.prompt().length + e.tokens().length, j.get("usage").get("total_tokens").asInt());
        // the same prompt as one string in an array, and as token ids
        assertEquals(e.text(), text(s.post("/v1/completions", "{\"prompt\":[\"" + PROMPT + "\"],\"max_tokens\":18,\"temperature\":0}")));
        String ids = Arrays.stream(promptIds()).mapToObj(Integer::toString).collect(Collectors.joining(","));
        assertEquals(e.text(), text(s.post("/v1/completions", "{\"prompt\":[" + ids + "],\"max_tokens\":18,\"temperature\":0}")));
    }

    @Test void streamingChunksConcatenateToTheText() throws Exception {
        String base = "{\"prompt\":\"" + PROMPT + "\",\"max_tokens\":18,\"temperature\":0";
        String whole = text(s.post("/v1/completions", base + "}"));
        HttpResponse<String> r = s.post("/v1/completions", base + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
        assertEquals("text/event-stream; charset=utf-8", r.headers().firstValue("Content-Type").orElse(""));
        List<JsonNode> ev = TestServer.sseEvents(r.body());
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < ev.size() - 2; i++) {
            JsonNode e = ev.get(i);
            assertEquals("text_completion", e.get("object").asText());
            assertEquals(ev.get(0).get("id").asText(), e.get("id").asText());
            assertTrue(e.get("choices").get(0).get("finish_reason").isNull());
            sb.append(e.get("choices").get(0).get("text").asText());
        }
        assertEquals(whole, sb.toString());
        JsonNode last = ev.get(ev.size() - 2).get("choices").get(0);
        assertEquals("", last.get("text").asText());
        assertEquals("length", last.get("finish_reason").asText());
        assertEquals(18, ev.get(ev.size() - 1).get("usage").get("completion_tokens").asInt());
    }

    @Test void stopStringsCutTheText() throws Exception {
        TestServer.Expected free = s.oracle(promptIds(), 30, Sampler.greedy());
        String stop = StopOracle.pickAsciiStop(free.text());
        assertNotNull(stop, free.text());
        StopOracle.Cut cut = StopOracle.cut(s.tokenizer, free.tokens(), List.of(stop));
        String body = "{\"prompt\":\"" + PROMPT + "\",\"max_tokens\":30,\"temperature\":0,\"stop\":" + TestServer.JSON.writeValueAsString(stop);
        JsonNode j = TestServer.json(s.post("/v1/completions", body + "}"));
        assertEquals(cut.text(), j.get("choices").get(0).get("text").asText());
        assertEquals("stop", j.get("choices").get(0).get("finish_reason").asText());
        assertEquals(cut.tokens(), j.get("usage").get("completion_tokens").asInt());
        List<JsonNode> ev = TestServer.sseEvents(s.post("/v1/completions", body + ",\"stream\":true}").body());
        StringBuilder sb = new StringBuilder();
        for (JsonNode e : ev) sb.append(e.get("choices").get(0).get("text").asText());
        assertEquals(cut.text(), sb.toString());
    }

    @Test void promptsAtTheContextLimit() throws Exception {
        int ctx = TestServer.CONTEXT;
        String ids = IntStream.range(0, ctx - 3).map(i -> 20 + i % 50).mapToObj(Integer::toString).collect(Collectors.joining(","));
        JsonNode j = TestServer.json(s.post("/v1/completions", "{\"prompt\":[" + ids + "],\"max_tokens\":10,\"temperature\":0}"));
        TestServer.Expected e = s.oracle(IntStream.range(0, ctx - 3).map(i -> 20 + i % 50).toArray(), 3, Sampler.greedy());
        assertEquals(e.text(), j.get("choices").get(0).get("text").asText());
        assertEquals(3, j.get("usage").get("completion_tokens").asInt());
        assertEquals("length", j.get("choices").get(0).get("finish_reason").asText());
        String full = IntStream.range(0, ctx).map(i -> 20).mapToObj(Integer::toString).collect(Collectors.joining(","));
        HttpResponse<String> r = s.post("/v1/completions", "{\"prompt\":[" + full + "],\"max_tokens\":1}");
        assertEquals(400, r.statusCode());
        JsonNode err = TestServer.json(r).get("error");
        assertEquals("prompt", err.get("param").asText());
        assertTrue(err.get("message").asText().contains(ctx + " tokens"), err.toString());
        // a chat prompt that does not fit names messages
        String longText = "hello world ".repeat(40);
        HttpResponse<String> rc = s.post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"" + longText + "\"}]}");
        assertEquals(400, rc.statusCode());
        assertEquals("messages", TestServer.json(rc).get("error").get("param").asText());
        // token ids outside the vocabulary
        HttpResponse<String> rv = s.post("/v1/completions", "{\"prompt\":[1,2,99999]}");
        assertEquals(400, rv.statusCode());
        assertTrue(TestServer.json(rv).get("error").get("message").asText().contains("99999"));
    }

    /**
     * EOS: a copy of the model whose lm_head rows of EOS and of the token greedy decoding first picks at step k are
     * swapped. Hidden states are unchanged, so steps before k choose the same tokens and step k chooses EOS: the
     * answer is the first k tokens' text, k + 1 completion tokens (EOS counted, not shown), finish_reason "stop".
     */
    @Test void eosEndsTheCompletionWithStop() throws Exception {
        TestServer.Expected free = s.oracle(promptIds(), 20, Sampler.greedy());
        int eos = s.tokenizer.eosId();
        int k = -1;
        for (int i = 3; i < free.tokens().length && k < 0; i++) {
            int t = free.tokens()[i];
            final int upTo = i;
            if (t != eos && IntStream.range(0, upTo + 1).noneMatch(j -> free.tokens()[j] == eos)
                    && IntStream.range(0, upTo).noneMatch(j -> free.tokens()[j] == t)) k = i;
        }
        assertTrue(k > 0, "no fresh token to swap with EOS in " + Arrays.toString(free.tokens()));
        Path copy = tmp.resolve("eos");
        TestServer.buildModel(copy, 5);
        TestServer.swapHeadRows(copy, eos, free.tokens()[k]);
        try (TestServer t = new TestServer(copy, new SamplingParams.Defaults(16, 0.6f))) {
            for (String stream : new String[] {"false", "true"}) {
                HttpResponse<String> r = t.post("/v1/completions", "{\"prompt\":\"" + PROMPT + "\",\"max_tokens\":20,\"temperature\":0,"
                        + "\"stream\":" + stream + ",\"stream_options\":{\"include_usage\":true}}");
                String text;
                String finish;
                int completion;
                if (stream.equals("false")) {
                    JsonNode j = TestServer.json(r);
                    text = j.get("choices").get(0).get("text").asText();
                    finish = j.get("choices").get(0).get("finish_reason").asText();
                    completion = j.get("usage").get("completion_tokens").asInt();
                } else {
                    List<JsonNode> ev = TestServer.sseEvents(r.body());
                    StringBuilder sb = new StringBuilder();
                    for (int i = 0; i < ev.size() - 1; i++) sb.append(ev.get(i).get("choices").get(0).get("text").asText());
                    text = sb.toString();
                    finish = ev.get(ev.size() - 2).get("choices").get(0).get("finish_reason").asText();
                    completion = ev.get(ev.size() - 1).get("usage").get("completion_tokens").asInt();
                }
                assertEquals(s.tokenizer.decode(Arrays.copyOf(free.tokens(), k), true), text);
                assertEquals("stop", finish);
                assertEquals(k + 1, completion);
            }
        }
    }

    /**
     * {@code suffix} (OpenAI's insertion): the model continues the fill-in-the-middle prompt of pre-training,
     * {@code <｜fim▁begin｜>} prefix {@code <｜fim▁hole｜>} suffix {@code <｜fim▁end｜>} without a start token (ids built
     * here by hand), streamed or not; an empty suffix is a plain completion; a suffix beside token ids is a 400.
     */
    @Test void suffixFillsTheMiddle() throws Exception {
        String prefix = "int add(int a, int b) {\n    return ", suffix = ";\n}\n";
        int[] ids = dev.jseek.tokenizer.PsmIds.of(s.tokenizer, prefix, suffix);
        assertTrue(s.tokenizer.fimBeginId() >= 0 && s.tokenizer.fimHoleId() >= 0 && s.tokenizer.fimEndId() >= 0);
        TestServer.Expected e = s.oracle(ids, 12, Sampler.greedy());
        var body = TestServer.JSON.createObjectNode().put("prompt", prefix).put("suffix", suffix).put("max_tokens", 12).put("temperature", 0);
        HttpResponse<String> r = s.post("/v1/completions", body.toString());
        assertEquals(200, r.statusCode(), r.body());
        JsonNode j = TestServer.json(r);
        assertEquals(e.text(), j.get("choices").get(0).get("text").asText());
        assertEquals(ids.length, j.get("usage").get("prompt_tokens").asInt());
        assertEquals(e.tokens().length, j.get("usage").get("completion_tokens").asInt());

        HttpResponse<String> st = s.post("/v1/completions", body.put("stream", true).toString());
        StringBuilder sb = new StringBuilder();
        for (JsonNode ev : TestServer.sseEvents(st.body())) sb.append(ev.get("choices").get(0).path("text").asText(""));
        assertEquals(e.text(), sb.toString());

        String plain = text(s.post("/v1/completions", "{\"prompt\":\"" + PROMPT + "\",\"max_tokens\":18,\"temperature\":0}"));
        assertEquals(plain, text(s.post("/v1/completions", "{\"prompt\":\"" + PROMPT + "\",\"suffix\":\"\",\"max_tokens\":18,\"temperature\":0}")));

        HttpResponse<String> bad = s.post("/v1/completions", "{\"prompt\":[1,2,3],\"suffix\":\"x\",\"max_tokens\":4}");
        assertEquals(400, bad.statusCode(), bad.body());
        JsonNode err = TestServer.json(bad).get("error");
        assertEquals("suffix", err.get("param").asText());
        assertEquals("suffix needs a text prompt (the code before the hole), not token ids", err.get("message").asText());
    }

    /**
     * An array of prompts (OpenAI's batch form: strings, or token-id arrays): prompt i's n choices come at indices
     * i n + c, each the oracle's text for that prompt with seed + c, streamed under the same indices; usage counts
     * each prompt once. Past {@link CompletionRequest#MAX_SEQUENCES} sequences, and with a mixed array, a 400.
     */
    @Test void anArrayOfPromptsGetsItsChoicesInOrder() throws Exception {
        String[] texts = {"the model reads", "a token and", "the cache holds"};
        int n = 2;
        String body = "{\"prompt\":[\"" + String.join("\",\"", texts) + "\"],\"max_tokens\":10,\"temperature\":0.9,\"seed\":7,\"n\":" + n;
        HttpResponse<String> r = s.post("/v1/completions", body + "}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode j = TestServer.json(r);
        assertEquals(texts.length * n, j.get("choices").size());
        int promptTokens = 0, completion = 0;
        String[] expected = new String[texts.length * n];
        StringBuilder idArrays = new StringBuilder();
        for (int i = 0; i < texts.length; i++) {
            int[] t = s.tokenizer.encode(texts[i], false), ids = new int[t.length + 1];
            ids[0] = s.tokenizer.eosId();
            System.arraycopy(t, 0, ids, 1, t.length);
            promptTokens += ids.length;
            idArrays.append(i == 0 ? "" : ",").append(Arrays.toString(ids).replace(" ", ""));
            for (int c = 0; c < n; c++) {
                TestServer.Expected e = s.oracle(ids, 10, new Sampler(0.9f, 0, 1f, 7 + c));
                JsonNode choice = j.get("choices").get(i * n + c);
                assertEquals(i * n + c, choice.get("index").asInt());
                assertEquals(e.text(), choice.get("text").asText(), "prompt " + i + " choice " + c);
                expected[i * n + c] = e.text();
                completion += e.tokens().length;
            }
        }
        assertEquals(promptTokens, j.get("usage").get("prompt_tokens").asInt());
        assertEquals(completion, j.get("usage").get("completion_tokens").asInt());

        // the same prompts as token-id arrays
        JsonNode k = TestServer.json(s.post("/v1/completions", "{\"prompt\":[" + idArrays + "],\"max_tokens\":10,\"temperature\":0.9,\"seed\":7,\"n\":2}"));
        for (int i = 0; i < expected.length; i++) assertEquals(expected[i], k.get("choices").get(i).get("text").asText(), "ids, choice " + i);

        // streamed: each chunk under its choice's index
        HttpResponse<String> st = s.post("/v1/completions", body + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
        StringBuilder[] got = new StringBuilder[expected.length];
        for (int i = 0; i < got.length; i++) got[i] = new StringBuilder();
        JsonNode usage = null;
        for (JsonNode ev : TestServer.sseEvents(st.body())) {
            if (ev.get("choices").isEmpty()) usage = ev.get("usage");
            else got[ev.get("choices").get(0).get("index").asInt()].append(ev.get("choices").get(0).get("text").asText());
        }
        for (int i = 0; i < got.length; i++) assertEquals(expected[i], got[i].toString(), "streamed choice " + i);
        assertNotNull(usage);
        assertEquals(promptTokens, usage.get("prompt_tokens").asInt());

        HttpResponse<String> many = s.post("/v1/completions", "{\"prompt\":[\"a\",\"b\",\"c\",\"d\",\"e\"],\"n\":16,\"max_tokens\":2}");
        assertEquals(400, many.statusCode(), many.body());
        assertEquals("5 prompts x n = 16 is 80 sequences; one request may ask for 64 at most", TestServer.json(many).get("error").get("message").asText());
        HttpResponse<String> mixed = s.post("/v1/completions", "{\"prompt\":[\"a\",3],\"max_tokens\":2}");
        assertEquals(400, mixed.statusCode(), mixed.body());
        assertEquals("prompt[1] must be a string like prompt[0], got number 3", TestServer.json(mixed).get("error").get("message").asText());
    }

    /**
     * {@code presence_penalty} and {@code frequency_penalty} against OpenAI's formula applied here by hand to the
     * model's own logits step by step (prefill, then one-token forwards, argmax of the penalized row, stopping at EOS);
     * a seeded sampled request with penalties gives the tokens of the single-sequence decoder with that sampler, alone
     * and as one of n choices; a value outside [-2, 2] is a 400 naming it.
     */
    @Test void penaltiesFollowOpenAisFormula() throws Exception {
        // negative: repeating is rewarded, which changes even a random model's greedy answer (it rarely repeats)
        float presence = -1.5f, frequency = -0.5f;
        int max = 24;
        int[] prompt = promptIds();
        int[] want = byHand(prompt, max, presence, frequency, new int[0], new float[0]);
        String body = "{\"prompt\":\"" + PROMPT + "\",\"max_tokens\":" + max + ",\"temperature\":0,\"presence_penalty\":" + presence
                + ",\"frequency_penalty\":" + frequency + "}";
        assertEquals(s.tokenizer.decode(want, true), text(s.post("/v1/completions", body)));
        assertNotEquals(s.oracle(prompt, max, Sampler.greedy()).text(), s.tokenizer.decode(want, true),
                "the penalties change this greedy answer (else the test proves nothing)");

        TestServer.Expected sampled = s.oracle(prompt, max, new Sampler(0.9f, 0, 1f, 5, -0.4f, 1.1f));
        TestServer.Expected second = s.oracle(prompt, max, new Sampler(0.9f, 0, 1f, 6, -0.4f, 1.1f));
        JsonNode j = TestServer.json(s.post("/v1/completions", "{\"prompt\":\"" + PROMPT + "\",\"max_tokens\":" + max
                + ",\"temperature\":0.9,\"seed\":5,\"n\":2,\"presence_penalty\":-0.4,\"frequency_penalty\":1.1}"));
        assertEquals(sampled.text(), j.get("choices").get(0).get("text").asText());
        assertEquals(second.text(), j.get("choices").get(1).get("text").asText());

        HttpResponse<String> bad = s.post("/v1/completions", "{\"prompt\":\"x\",\"frequency_penalty\":2.5}");
        assertEquals(400, bad.statusCode(), bad.body());
        assertEquals("frequency_penalty", TestServer.json(bad).get("error").get("param").asText());
    }

    /**
     * Greedy decoding with OpenAI's adjustments applied here by hand to the model's own logits: token j's logit minus
     * c_j * frequency + presence once generated c_j > 0 times, plus its logit_bias; argmax (lowest id on ties), one
     * forward per token, stopping at EOS.
     */
    static int[] byHand(int[] prompt, int max, float presence, float frequency, int[] biasIds, float[] biasValues) {
        return byHand(prompt, max, 1f, presence, frequency, biasIds, biasValues);
    }

    /** {@link #byHand(int[], int, float, float, int[], float[])} after vLLM's repetition penalty over prompt and output. */
    static int[] byHand(int[] prompt, int max, float rep, float presence, float frequency, int[] biasIds, float[] biasValues) {
        try (dev.jseek.model.DeepSeekV3 m = dev.jseek.model.DeepSeekV3.open(tmp.resolve("m"))) {
            int eos = m.config.eosTokenId(), vocab = m.config.vocabSize();
            var cache = m.newCache(prompt.length + max, dev.jseek.model.AttnMode.ABSORB);
            float[] all = m.forward(prompt, 0, cache);
            float[] logits = Arrays.copyOfRange(all, (prompt.length - 1) * vocab, prompt.length * vocab);
            int[] counts = new int[vocab], out = new int[max];
            boolean[] seen = new boolean[vocab];
            for (int t : prompt) seen[t] = true;
            int n = 0;
            while (n < max) {
                float[] v = new float[vocab];
                for (int i = 0; i < vocab; i++) {
                    float x = logits[i];
                    if (rep != 1f && seen[i]) x = x > 0 ? x / rep : x * rep;
                    v[i] = counts[i] == 0 ? x : x - (counts[i] * frequency + presence);
                }
                for (int j = 0; j < biasIds.length; j++) v[biasIds[j]] += biasValues[j];
                int best = 0;
                for (int i = 1; i < vocab; i++) if (v[i] > v[best]) best = i;
                out[n++] = best;
                counts[best]++;
                seen[best] = true;
                if (best == eos) break;
                logits = m.forward(new int[] {best}, prompt.length + n - 1, cache);
            }
            return Arrays.copyOf(out, n);
        }
    }

    /**
     * {@code logit_bias} against the formula applied by hand: the plain greedy answer's first token banned (-100) and
     * another token favoured (+3), with a frequency penalty beside; keys that are not token ids, values outside
     * [-100, 100] and ids outside the vocabulary are 400s naming logit_bias.
     */
    @Test void logitBiasFollowsOpenAisFormula() throws Exception {
        int max = 16;
        int[] prompt = promptIds();
        int[] plain = s.oracle(prompt, max, Sampler.greedy()).tokens();
        int favoured = (plain[0] + 7) % s.tokenizer.vocabSize();
        int[] want = byHand(prompt, max, 0f, 0.5f, new int[] {plain[0], favoured}, new float[] {-100f, 3f});
        assertNotEquals(plain[0], want[0]);
        String body = "{\"prompt\":\"" + PROMPT + "\",\"max_tokens\":" + max + ",\"temperature\":0,\"frequency_penalty\":0.5,"
                + "\"logit_bias\":{\"" + plain[0] + "\":-100,\"" + favoured + "\":3}}";
        assertEquals(s.tokenizer.decode(want, true), text(s.post("/v1/completions", body)));
        for (String[] bad : new String[][] {{"{\"abc\":1}", "logit_bias keys are token ids"}, {"{\"5\":101}", "in [-100, 100]"},
                {"{\"" + (s.tokenizer.vocabSize() + 5) + "\":1}", "outside the vocabulary"}, {"[1]", "must be an object"}}) {
            HttpResponse<String> r = s.post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":2,\"logit_bias\":" + bad[0] + "}");
            assertEquals(400, r.statusCode(), r.body());
            JsonNode err = TestServer.json(r).get("error");
            assertEquals("logit_bias", err.get("param").asText());
            assertTrue(err.get("message").asText().contains(bad[1]), err.get("message").asText());
        }
    }

    /**
     * vLLM's {@code repetition_penalty} (every token seen in the prompt or the output: a positive logit divided by it,
     * a negative one multiplied), applied here by hand before a presence penalty: the server's greedy answer is that;
     * 0 and values past 10 are 400s.
     */
    @Test void repetitionPenaltyFollowsVllmsFormula() throws Exception {
        int max = 16;
        int[] prompt = promptIds();
        for (float rep : new float[] {0.3f, 1.8f}) {
            int[] want = byHand(prompt, max, rep, 0.2f, 0f, new int[0], new float[0]);
            String body = "{\"prompt\":\"" + PROMPT + "\",\"max_tokens\":" + max + ",\"temperature\":0,\"repetition_penalty\":" + rep
                    + ",\"presence_penalty\":0.2}";
            assertEquals(s.tokenizer.decode(want, true), text(s.post("/v1/completions", body)), "repetition_penalty " + rep);
        }
        assertNotEquals(s.oracle(prompt, max, Sampler.greedy()).text(),
                s.tokenizer.decode(byHand(prompt, max, 0.3f, 0f, 0f, new int[0], new float[0]), true), "0.3 (repeat) changes the answer");
        for (String bad : new String[] {"0", "10.5", "-1"}) {
            HttpResponse<String> r = s.post("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":2,\"repetition_penalty\":" + bad + "}");
            assertEquals(400, r.statusCode(), r.body());
            assertEquals("repetition_penalty", TestServer.json(r).get("error").get("param").asText());
        }
    }

    static String text(HttpResponse<String> r) throws Exception {
        assertEquals(200, r.statusCode(), r.body());
        return TestServer.json(r).get("choices").get(0).get("text").asText();
    }
}
