package dev.jseek.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** jseek tokenize / detokenize / tokenizer train end to end, with a tokenizer trained here. */
class TokenizerCliTest {
    @TempDir Path tmp;

    record Run(int rc, String out, String err) {}

    static Run run(String... args) {
        PrintStream oldOut = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        var cl = Jseek.commandLine();
        cl.setErr(new java.io.PrintWriter(err, true, StandardCharsets.UTF_8));
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            int rc = cl.execute(args);
            return new Run(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
        }
    }

    @Test void trainTokenizeDetokenize() throws Exception {
        Path corpus = tmp.resolve("c");
        Files.createDirectories(corpus.resolve("sub"));
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 300; i++) sb.append("public static final int VALUE_").append(i).append(" = ").append(i * 7).append(";\n");
        Files.writeString(corpus.resolve("sub/A.java"), sb.toString());
        Files.writeString(corpus.resolve("notes.txt"), "hello world, hello tokenizer\n".repeat(50));
        Path tok = tmp.resolve("tok.json");
        Run train = run("tokenizer", "train", "--corpus", corpus.toString(), "--include", "*.java", "--vocab-size", "400",
                "--out", tok.toString(), "--threads", "1");
        assertEquals(0, train.rc(), train.err());
        assertTrue(train.out().contains("vocab 400"), train.out());

        Path in = tmp.resolve("in.txt");
        Files.writeString(in, "public static int x = 42;\r\n<｜User｜>hi\n");
        Run ids = run("tokenize", "--tokenizer", tok.toString(), "--in", in.toString());
        assertEquals(0, ids.rc(), ids.err());
        String[] lines = ids.out().split("\n");
        assertEquals(2, lines.length);
        assertTrue(lines[1].startsWith("[6,"), lines[1]); // <｜User｜> has the fixed id 6

        Path idFile = tmp.resolve("ids.txt");
        Files.writeString(idFile, ids.out());
        Run text = run("detokenize", "--tokenizer", tok.toString(), "--in", idFile.toString());
        assertEquals("public static int x = 42;\n<｜User｜>hi\n", text.out());
        // issue 10 §9: ids beyond long, and numbers beyond the parser's length limit, are one line
        Files.writeString(idFile, "[1, " + "9".repeat(30) + "]");
        Run big = run("detokenize", "--tokenizer", tok.toString(), "--in", idFile.toString());
        assertEquals(2, big.rc(), big.err());
        assertEquals("jseek: " + idFile + ": array 0, element 1: id 99999999999999999999... (30 digits) is outside the vocabulary 0..399",
                big.err().strip());
        Files.writeString(idFile, "[" + "9".repeat(1200) + "]");
        Run huge = run("detokenize", "--tokenizer", tok.toString(), "--in", idFile.toString());
        assertEquals(2, huge.rc(), huge.err());
        assertTrue(huge.err().startsWith("jseek: " + idFile + ": not valid JSON: ") && huge.err().strip().lines().count() == 1, huge.err());

        Files.writeString(in, "public static int x = 42;\n<｜User｜>hi\n");
        Run bos = run("tokenize", "--tokenizer", tok.toString(), "--in", in.toString(), "--whole", "--bos", "--pieces");
        assertTrue(bos.out().startsWith("[\"<｜begin▁of▁sentence｜>\",\"public\""), bos.out());
        assertTrue(bos.out().contains("\"Ċ\""), bos.out());

        // ill-formed UTF-8 on a line: decoded by the maximal-subpart rule, like Tokenizer.encode(byte[])
        Files.write(in, new byte[] {'a', (byte) 0xE4, (byte) 0xB8, 'b', '\n'});
        Run bad = run("tokenize", "--tokenizer", tok.toString(), "--in", in.toString());
        Run good = run("tokenize", "--tokenizer", tok.toString(), "--in", writeUtf8("a\uFFFDb\n").toString());
        assertEquals(good.out(), bad.out());
    }

    Path writeUtf8(String s) throws Exception {
        Path p = tmp.resolve("u" + s.hashCode() + ".txt");
        Files.writeString(p, s);
        return p;
    }

    @Test void userErrorsAreOneLine() throws Exception {
        Run missing = run("tokenize", "--tokenizer", tmp.resolve("none.json").toString());
        assertEquals(2, missing.rc());
        assertTrue(missing.err().startsWith("jseek: tokenizer not found"), missing.err());
        Run vocab = run("tokenizer", "train", "--corpus", tmp.toString(), "--vocab-size", "10", "--out", tmp.resolve("x.json").toString());
        assertEquals(2, vocab.rc());
        assertTrue(vocab.err().contains("vocab size 10"), vocab.err());
    }
}
