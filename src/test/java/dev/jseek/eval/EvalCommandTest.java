package dev.jseek.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code jseek eval} end to end on a tiny model: one table, written as JSON, markdown and the passkey PNG. */
class EvalCommandTest {
    @TempDir Path tmp;

    @Test void writesTheScorecard() throws Exception {
        Path tokFile = EvalFixtures.tokenizerFile(tmp, 400);
        Path corpus = Files.createDirectories(tmp.resolve("src"));
        for (int i = 0; i < 30; i++) Files.writeString(corpus.resolve("C" + i + ".java"), FimEvalTest.javaFile(i));
        Path data = tmp.resolve("data");
        EvalFixtures.Run r = EvalFixtures.run("data", "prepare", "--corpus", "dir:" + corpus + "#java", "--tokenizer", tokFile.toString(),
                "--out", data.toString(), "--val-fraction", "0.3", "--threads", "1", "--no-progress");
        assertEquals(0, r.code(), r.err());
        Path model = EvalFixtures.tinyModel(tmp, 400, 1, 0.02);
        Path mc = tmp.resolve("mc.jsonl");
        Files.writeString(mc, "{\"context\": \"The sky is\", \"choices\": [\" blue.\", \" green.\"], \"answer\": 0}\n");
        Path out = tmp.resolve("eval");
        r = EvalFixtures.run("eval", "--model", model.toString(), "--tokenizer", tokFile.toString(), "--data", data.toString(),
                "--out", out.toString(), "--bpb-tokens", "200", "--bpb-window", "64", "--fim", "2", "--passkey-lengths", "300",
                "--passkey-depths", "0,1", "--passkey-trials", "1", "--mc", mc.toString(), "--arithmetic", "2");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(out.resolve("scorecard.json").toFile());
        String[] metrics = {"held-out bits/byte", "Java FIM exact match", "passkey @ 300", "multiple choice (acc)", "multiple choice (acc_norm)",
                "arithmetic (greedy)"};
        assertEquals(metrics.length, j.get("rows").size(), j.toString());
        for (int i = 0; i < metrics.length; i++) {
            JsonNode row = j.get("rows").get(i);
            assertEquals(metrics[i], row.get("metric").asText());
            assertTrue(row.get("value").isNumber(), row.toString());
            assertTrue(r.out().contains(metrics[i]), r.out());
        }
        // a random tiny model: bits per byte well above zero, about log2(400) / bytes-per-token
        assertTrue(j.get("rows").get(0).get("value").asDouble() > 1);
        assertEquals(2, j.get("rows").get(1).get("count").asInt());
        assertEquals(1, j.get("passkey").get("accuracy").size());
        assertTrue(Files.size(out.resolve("passkey.png")) > 100);
        assertTrue(Files.readString(out.resolve("scorecard.md")).contains("| held-out bits/byte |"));
        // without --data or --mc the rows are there, skipped, with the reason
        r = EvalFixtures.run("eval", "--model", model.toString(), "--tokenizer", tokFile.toString(), "--out", out.toString(),
                "--passkey-lengths", "", "--arithmetic", "0");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("skipped") && r.out().contains("no --data"), r.out());
        // bad input: one line
        r = EvalFixtures.run("eval", "--model", model.toString(), "--tokenizer", tokFile.toString(), "--passkey-depths", "2");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--passkey-depths"), r.err());
    }
}
