package dev.jseek.api.langchain4j;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.api.Sampling;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A LangChain4j request's parameters over the adapter's defaults: each given one replaces its default (temperature,
 * top-p, top-k, max tokens, stop sequences, presence and frequency penalties), the others are kept (the adapter's
 * seed and ignore-EOS survive a temperature, which an earlier mapping dropped).
 */
class LangChainSamplingTest {
    @Test
    void requestParametersGoOverTheDefaults() {
        Sampling defaults = Sampling.greedy(10).withSeed(42).withIgnoreEos(true).withPenalties(0.1f, 0.2f);
        ChatRequest r = ChatRequest.builder().messages(List.of(UserMessage.from("hi"))).temperature(0.5).topP(0.9).topK(7)
                .maxOutputTokens(33).stopSequences(List.of("END")).presencePenalty(-0.3).build();
        Sampling s = LangChainMessages.sampling(r, defaults);
        assertEquals(0.5f, s.temperature());
        assertEquals(0.9f, s.topP());
        assertEquals(7, s.topK());
        assertEquals(33, s.maxTokens());
        assertEquals(List.of("END"), s.stop());
        assertEquals(-0.3f, s.presencePenalty());
        assertEquals(0.2f, s.frequencyPenalty(), "not given: the default");
        assertEquals(42L, s.seed());
        assertTrue(s.ignoreEos());
        assertEquals(defaults, LangChainMessages.sampling(ChatRequest.builder().messages(List.of(UserMessage.from("hi"))).build(), defaults));
    }
}
