package dev.jseek.tokenizer;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/**
 * Prompt ids against Hugging Face tokenizers on DeepSeek-V3's real tokenizer.json: the FIM prompt equals HF's
 * encoding of the PSM text with the three special tokens written in it (HF splits added tokens out of the text
 * first), and a start token is the token's id followed by the text's ids.
 */
class PromptsTest {
    @Test
    void theFimPromptIsHfsEncodingOfThePsmText() throws Exception {
        Tokenizer t = TestData.deepseekV3Tokenizer();
        try (HfOracle hf = new HfOracle(TestData.deepseekV3())) {
            String[][] cases = {{"    public int size() {\n        return ", ";\n    }\n"}, {"", "x"}, {"def f(a, b):\n", ""},
                    {"数字 123 ", " ✓\n"}};
            for (String[] c : cases) {
                int[] want = hf.encode("<｜fim▁begin｜>" + c[0] + "<｜fim▁hole｜>" + c[1] + "<｜fim▁end｜>");
                assertArrayEquals(want, Prompts.fim(t, c[0], c[1]), c[0] + " | " + c[1]);
            }
            int[] bos = Prompts.startingWith(t.bosId(), t.encode("Hello world"));
            assertArrayEquals(hf.encode("<｜begin▁of▁sentence｜>Hello world"), bos);
        }
    }
}
