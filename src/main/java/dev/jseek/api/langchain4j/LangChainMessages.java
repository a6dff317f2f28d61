package dev.jseek.api.langchain4j;

import dev.jseek.api.Completion;
import dev.jseek.api.Sampling;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import dev.jseek.tokenizer.Message;
import dev.jseek.tokenizer.ToolCall;
import java.util.ArrayList;
import java.util.List;

/** LangChain4j requests and responses to and from jseek's {@link Message}s, {@link Sampling} and {@link Completion}. */
final class LangChainMessages {
    private LangChainMessages() {}

    static List<Message> messages(List<ChatMessage> in) {
        List<Message> out = new ArrayList<>();
        for (ChatMessage m : in) {
            switch (m) {
                case SystemMessage s -> out.add(Message.system(s.text()));
                case UserMessage u -> {
                    if (!u.hasSingleText())
                        throw new UnsupportedFeatureException("jseek reads text only; this user message has " + u.contents().size() + " parts");
                    out.add(Message.user(u.singleText()));
                }
                case AiMessage a -> {
                    if (a.hasToolExecutionRequests()) {
                        List<ToolCall> calls = new ArrayList<>();
                        for (var r : a.toolExecutionRequests()) calls.add(ToolCall.function(r.name(), r.arguments()));
                        out.add(new Message("assistant", null, calls));
                    } else {
                        out.add(Message.assistant(a.text() == null ? "" : a.text()));
                    }
                }
                case ToolExecutionResultMessage t -> out.add(Message.tool(t.text()));
                default -> throw new UnsupportedFeatureException("jseek does not take " + m.type() + " messages");
            }
        }
        return out;
    }

    /** The request's parameters over the adapter's defaults. */
    static Sampling sampling(ChatRequest r, Sampling defaults) {
        if (r.toolSpecifications() != null && !r.toolSpecifications().isEmpty())
            throw new UnsupportedFeatureException("the in-process jseek adapter does not offer tools; use the HTTP server's "
                    + "OpenAI tools through langchain4j-open-ai");
        if (r.responseFormat() != null && r.responseFormat().type() == dev.langchain4j.model.chat.request.ResponseFormatType.JSON)
            throw new UnsupportedFeatureException("jseek has no constrained decoding (JSON response format)");
        Sampling s = defaults;
        if (r.temperature() != null) s = s.withTemperature(r.temperature().floatValue());
        if (r.topP() != null) s = s.withTopP(r.topP().floatValue());
        if (r.topK() != null) s = s.withTopK(r.topK());
        if (r.maxOutputTokens() != null) s = s.withMaxTokens(r.maxOutputTokens());
        if (r.stopSequences() != null && !r.stopSequences().isEmpty()) s = s.withStop(r.stopSequences());
        if (r.presencePenalty() != null || r.frequencyPenalty() != null)
            s = s.withPenalties(r.presencePenalty() != null ? r.presencePenalty().floatValue() : s.presencePenalty(),
                    r.frequencyPenalty() != null ? r.frequencyPenalty().floatValue() : s.frequencyPenalty());
        return s;
    }

    static ChatResponse response(Completion c, String modelName) {
        return ChatResponse.builder()
                .aiMessage(AiMessage.from(c.text()))
                .tokenUsage(new TokenUsage(c.promptTokens(), c.completionTokens()))
                .finishReason(c.finishReason().equals("stop") ? FinishReason.STOP : FinishReason.LENGTH)
                .modelName(modelName)
                .build();
    }
}
