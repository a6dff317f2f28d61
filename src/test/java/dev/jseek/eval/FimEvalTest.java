package dev.jseek.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jseek.data.CorpusSpec;
import dev.jseek.data.Document;
import dev.jseek.data.Manifest;
import dev.jseek.data.Split;
import dev.jseek.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FimEvalTest {
    @TempDir Path tmp;

    static String javaFile(int i) {
        return "/*\n * Copyright header " + i + "\n */\npackage p;\n\nimport java.util.List;\n\nclass C" + i + " {\n"
                + "    private int count = " + i + ";\n\n    public int size() {\n        return count + " + i + ";\n    }\n\n"
                + "    // a comment line here\n    int twice(int x) { return 2 * x + " + i + "; }\n}\n";
    }

    /** The held-out files are exactly the documents data prepare put in the validation split. */
    @Test void heldOutFilesAreTheValidationSplit() throws Exception {
        Path corpus = Files.createDirectories(tmp.resolve("src"));
        for (int i = 0; i < 40; i++) Files.writeString(corpus.resolve("C" + i + ".java"), javaFile(i));
        Path data = tmp.resolve("data");
        EvalFixtures.Run r = EvalFixtures.run("data", "prepare", "--corpus", "dir:" + corpus + "#java", "--tokenizer", "bytes",
                "--out", data.toString(), "--val-fraction", "0.3", "--seed", "5", "--threads", "1", "--no-progress");
        assertEquals(0, r.code(), r.err());
        Manifest mf = Manifest.read(data);
        List<Document> held = FimEval.heldOut(CorpusSpec.parse(mf.corpus()), mf.seed(), mf.valFraction());
        assertEquals(mf.val().documents(), held.size());
        assertTrue(held.size() > 3 && held.size() < 40);
        for (Document d : held) assertEquals(Split.VAL, Split.of(d.text(), 5, 0.3));
        // with another split seed, other files are held out
        assertTrue(!FimEval.heldOut(CorpusSpec.parse(mf.corpus()), 6, 0.3).equals(held));
    }

    /** The hole is one whole real code line's text; prefix + hole + suffix is the contiguous original text around it. */
    @Test void exampleRemovesOneRealLine() {
        List<Document> docs = new ArrayList<>();
        for (int i = 0; i < 30; i++) docs.add(new Document("C" + i + ".java", javaFile(i)));
        List<FimEval.Example> ex = FimEval.examples(docs, 10, 3, 600, 200);
        assertEquals(10, ex.size());
        List<String> lines = new ArrayList<>();
        for (FimEval.Example e : ex) {
            String text = javaFile(Integer.parseInt(e.file().substring(1, e.file().indexOf('.'))));
            String joined = e.prefix() + e.middle() + e.suffix();
            int at = text.indexOf(joined);
            assertTrue(at >= 0, e.file());
            String line = text.split("\n", -1)[e.line() - 1];
            assertEquals(line.strip(), e.middle());
            assertTrue(e.prefix().endsWith("\n" + line.substring(0, line.indexOf(e.middle()))), "prefix ends with the line's indentation");
            assertTrue(e.suffix().startsWith("\n"));
            assertTrue(!e.middle().startsWith("//") && !e.middle().startsWith("import") && !e.middle().startsWith("package"));
            lines.add(e.middle());
        }
        assertTrue(lines.stream().distinct().count() > 1, "the line choice varies over files: " + lines);
        assertEquals(10, ex.stream().map(FimEval.Example::file).distinct().count(), "ten different files");
        // more examples asked than files: each file at most once
        List<FimEval.Example> all = FimEval.examples(docs.subList(0, 7), 40, 3, 600, 200);
        assertEquals(7, all.size());
        assertEquals(7, all.stream().map(FimEval.Example::file).distinct().count());
        // the choice is a pure function of (seed, text)
        assertEquals(ex, FimEval.examples(docs, 10, 3, 600, 200));
        assertNull(FimEval.example(new Document("x", "// only\n// comments\n"), 1, 600, 200));
        // context limits cut at line boundaries
        FimEval.Example cut = FimEval.example(docs.get(0), 3, 20, 10);
        assertTrue(cut.prefix().length() <= 20 && cut.suffix().length() <= 10);
    }

    /** The prompt is the PSM layout of pre-training: fim_begin prefix fim_hole suffix fim_end. */
    @Test void promptIsPsm() throws Exception {
        Tokenizer tok = EvalFixtures.tokenizer(tmp, 400);
        FimEval.Example e = new FimEval.Example("f", 3, "class A {\n    ", "int x = 1;", "\n}\n");
        assertArrayEquals(dev.jseek.tokenizer.PsmIds.of(tok, e.prefix(), e.suffix()), FimEval.prompt(tok, e));
    }
}
