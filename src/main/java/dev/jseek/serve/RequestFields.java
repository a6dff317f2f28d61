package dev.jseek.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;

/**
 * Typed reads of a JSON request body's fields. A field that is absent or JSON {@code null} is "not given" (OpenAI
 * clients send nulls for unset options); a field of the wrong type is an {@link ApiError} 400 naming the field and
 * the value it got.
 */
final class RequestFields {
    private RequestFields() {}

    /** Strict: trailing content after the object and duplicate keys are errors. */
    static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    /** The body as a JSON object, or a 400 saying why it is not one. */
    static ObjectNode parseObject(byte[] body) {
        if (body.length == 0) throw ApiError.invalid(null, "the request body is empty; send a JSON object");
        JsonNode n;
        try {
            n = JSON.readTree(body);
        } catch (IOException e) {
            String m = e.getMessage();
            int nl = m == null ? -1 : m.indexOf('\n');
            throw ApiError.invalid(null, "the request body is not valid JSON: " + (nl >= 0 ? m.substring(0, nl) : m));
        }
        if (n == null || !n.isObject()) throw ApiError.invalid(null, "the request body must be a JSON object, got " + describe(n));
        return (ObjectNode) n;
    }

    static boolean given(JsonNode n) { return n != null && !n.isNull() && !n.isMissingNode(); }

    /** How a value is shown in an error: short JSON text, with its JSON type. */
    static String describe(JsonNode n) {
        if (n == null || n.isMissingNode()) return "nothing";
        String s = n.toString();
        if (s.length() > 60) s = s.substring(0, 57) + "...";
        String kind = n.isTextual() ? "string" : n.isNumber() ? "number" : n.isBoolean() ? "boolean"
                : n.isArray() ? "array" : n.isObject() ? "object" : "null";
        return kind + " " + s;
    }

    static String optString(ObjectNode o, String field, String path) {
        return opt(o.get(field), path, JsonNode::isTextual, "a string", JsonNode::textValue);
    }

    static Boolean optBoolean(ObjectNode o, String field) {
        return opt(o.get(field), field, JsonNode::isBoolean, "true or false", JsonNode::booleanValue);
    }

    static Double optNumber(ObjectNode o, String field) {
        return opt(o.get(field), field, JsonNode::isNumber, "a number", JsonNode::doubleValue);
    }

    /** An integer field (a JSON number without fraction, e.g. 5 or 5.0) within long range. */
    static Long optInteger(ObjectNode o, String field) {
        return opt(o.get(field), field, n -> n.isIntegralNumber() ? n.canConvertToLong()
                : n.isNumber() && n.doubleValue() == Math.rint(n.doubleValue()) && Math.abs(n.doubleValue()) < 0x1p62, "an integer", JsonNode::longValue);
    }

    /** The value of {@code n} (field {@code path}), null when not given; a 400 naming the field when {@code ok} refuses it. */
    private static <T> T opt(JsonNode n, String path, java.util.function.Predicate<JsonNode> ok, String what,
                             java.util.function.Function<JsonNode, T> value) {
        if (!given(n)) return null;
        if (!ok.test(n)) throw ApiError.invalid(path, path + " must be " + what + ", got " + describe(n));
        return value.apply(n);
    }
}
