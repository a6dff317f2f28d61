package dev.jseek.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * jseek vs Hugging Face tokenizers (Rust, via DJL) on ~50 MB of JDK sources, same process, same documents
 * (run by tools/bench-tokenizer.sh). Args: [tokenizer.json] [MB] [threads]. HF single = {@code encode} per
 * document; HF batch = {@code batchEncode} (Rust rayon over all cores) in chunks of 256 documents. "hf" goes
 * through DJL's {@code HuggingFaceTokenizer} (which also copies tokens, offsets and masks into Java); "hf-raw" calls
 * DJL's JNI functions directly and fetches only the ids (the Rust library's own speed, minus one string copy).
 */
public final class HfTokenizerBench {
    private HfTokenizerBench() {}

    public static void main(String[] args) throws Exception {
        Path tok = args.length > 0 && !args[0].isEmpty() ? Path.of(args[0]) : TestData.deepseekV3();
        long mb = args.length > 1 ? Long.parseLong(args[1]) : 50;
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : Runtime.getRuntime().availableProcessors();
        List<String> docs = TokenizerBench.jdkSources(TestData.jdkSrcZip(), mb * 1_000_000L);
        Tokenizer jseek = Tokenizer.load(tok);
        HuggingFaceTokenizer hf = HuggingFaceTokenizer.builder().optTokenizerPath(tok).optAddSpecialTokens(false)
                .optTruncation(false).optPadding(false).build();
        TokenizerBench.Encoder hfEnc = new TokenizerBench.Encoder() {
            @Override public String name() { return "hf"; }
            @Override public long encode(String doc) { return hf.encode(doc).getIds().length; }
            @Override public long encodeBatch(List<String> d, int th) {
                long n = 0;
                for (int i = 0; i < d.size(); i += 256) {
                    List<String> chunk = new ArrayList<>(d.subList(i, Math.min(d.size(), i + 256)));
                    for (Encoding e : hf.batchEncode(chunk)) n += e.getIds().length;
                }
                return n;
            }
        };
        long h = hf.getHandle();
        TokenizerBench.Encoder hfRaw = new TokenizerBench.Encoder() {
            @Override public String name() { return "hf-raw"; }
            @Override public long encode(String doc) {
                long e = TokenizersLibrary.LIB.encode(h, doc, false);
                long n = TokenizersLibrary.LIB.getTokenIds(e).length;
                TokenizersLibrary.LIB.deleteEncoding(e);
                return n;
            }
            @Override public long encodeBatch(List<String> d, int th) {
                long n = 0;
                for (int i = 0; i < d.size(); i += 256) {
                    String[] chunk = d.subList(i, Math.min(d.size(), i + 256)).toArray(new String[0]);
                    for (long e : TokenizersLibrary.LIB.batchEncode(h, chunk, false)) {
                        n += TokenizersLibrary.LIB.getTokenIds(e).length;
                        TokenizersLibrary.LIB.deleteEncoding(e);
                    }
                }
                return n;
            }
        };
        TokenizerBench.run(docs, List.of(TokenizerBench.jseek(jseek), hfEnc, hfRaw), threads, 5_000_000, System.out);
        hf.close();
    }
}
