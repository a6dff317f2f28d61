package dev.jseek.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * A JSON Lines file: one JSON object per line, the document text in a configurable string field (default
 * {@code "text"}). Blank lines are skipped. A line that is not a JSON object, or lacks the field, or whose field is
 * not a string, is an error naming the file, the 1-based line number and the field. Documents are named
 * {@code file:line}.
 */
public record JsonlCorpus(String spec, Path file, String field) implements Corpus {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override public Stream<Document> documents() throws IOException {
        if (!Files.isRegularFile(file)) throw new DataFormatException("JSONL corpus file " + file + " does not exist");
        BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8);
        String base = file.getFileName().toString();
        Iterator<Document> it = new Iterator<>() {
            long lineNo;
            Document next;

            @Override public boolean hasNext() {
                while (next == null) {
                    String line;
                    try {
                        line = reader.readLine();
                    } catch (IOException e) {
                        throw new UncheckedIOException("cannot read " + file + " after line " + lineNo + ": " + e.getMessage(), e);
                    }
                    if (line == null) return false;
                    lineNo++;
                    if (line.isBlank()) continue;
                    next = new Document(base + ":" + lineNo, parse(line, lineNo));
                }
                return true;
            }

            @Override public Document next() {
                if (!hasNext()) throw new NoSuchElementException();
                Document d = next;
                next = null;
                return d;
            }
        };
        return StreamSupport.stream(Spliterators.spliteratorUnknownSize(it, Spliterator.ORDERED | Spliterator.NONNULL), false)
                .onClose(() -> {
                    try {
                        reader.close();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
    }

    private String parse(String line, long lineNo) {
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new DataFormatException(file + " line " + lineNo + ": malformed JSON (" + e.getOriginalMessage() + ")");
        }
        if (node == null || !node.isObject())
            throw new DataFormatException(file + " line " + lineNo + ": expected a JSON object, found " + (node == null ? "nothing" : node.getNodeType()));
        JsonNode v = node.get(field);
        if (v == null) throw new DataFormatException(file + " line " + lineNo + ": no field \"" + field + "\"");
        if (!v.isTextual())
            throw new DataFormatException(file + " line " + lineNo + ": field \"" + field + "\" is " + v.getNodeType() + ", expected a string");
        return v.textValue();
    }
}
