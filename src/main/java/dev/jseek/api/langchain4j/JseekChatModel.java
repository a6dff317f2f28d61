package dev.jseek.api.langchain4j;

import dev.jseek.api.Completion;
import dev.jseek.api.JseekModel;
import dev.jseek.api.Sampling;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;

/**
 * A LangChain4j {@link ChatModel} over an in-process {@link JseekModel} (no HTTP), usable with LangChain4j's
 * {@code AiServices}. Request parameters (temperature, top-p, top-k, max output tokens, stop sequences) override the
 * defaults given here; tools and JSON response formats are refused ({@code UnsupportedFeatureException}).
 *
 * <p>This package is the only part of jseek that uses LangChain4j; {@code langchain4j-core} is an optional
 * dependency, so an application that embeds jseek without LangChain4j does not pull it in.
 *
 * <pre>{@code
 * interface Assistant { String chat(String message); }
 * JseekModel model = JseekModel.load(Path.of("model-dir"));
 * Assistant a = AiServices.create(Assistant.class, new JseekChatModel(model, Sampling.of(128, 0.6f), "jseek"));
 * }</pre>
 */
public record JseekChatModel(JseekModel model, Sampling defaults, String name) implements ChatModel {
    @Override public ChatResponse doChat(ChatRequest request) {
        Sampling s = LangChainMessages.sampling(request, defaults);
        try {
            Completion c = model.chat(LangChainMessages.messages(request.messages()), s);
            return LangChainMessages.response(c, name);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while generating", e);
        }
    }
}
