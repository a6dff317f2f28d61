package dev.jseek.api.langchain4j;

import dev.jseek.api.Completion;
import dev.jseek.api.JseekModel;
import dev.jseek.api.Sampling;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;

/**
 * A LangChain4j {@link StreamingChatModel} over an in-process {@link JseekModel}: the text reaches
 * {@code onPartialResponse} as the batch engine generates it, then {@code onCompleteResponse} gets the whole
 * answer with token usage. Generation runs on a virtual thread; errors go to {@code onError}. See
 * {@link JseekChatModel} for the parameters and the dependency note.
 */
public record JseekStreamingChatModel(JseekModel model, Sampling defaults, String name) implements StreamingChatModel {
    @Override public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        Sampling s;
        java.util.List<dev.jseek.tokenizer.Message> ms;
        try {
            s = LangChainMessages.sampling(request, defaults);
            ms = LangChainMessages.messages(request.messages());
        } catch (RuntimeException e) {
            handler.onError(e);
            return;
        }
        Thread.ofVirtual().name("jseek-langchain4j").start(() -> {
            try {
                Completion c = model.stream(ms, s, handler::onPartialResponse);
                handler.onCompleteResponse(LangChainMessages.response(c, name));
            } catch (InterruptedException e) {
                handler.onError(e);
            } catch (RuntimeException e) {
                handler.onError(e);
            }
        });
    }
}
