package dev.jseek.serve;

import static org.junit.jupiter.api.Assertions.*;

import dev.jseek.infer.Sampler;
import dev.jseek.tokenizer.ChatTemplate;
import dev.jseek.tokenizer.Message;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The web chat in a real browser: headless Chromium (Debian's {@code chromium} and {@code chromium-driver}, installed
 * by {@code .ci/run}) driven by Selenium. Sends a message and watches tokens arrive, stops the generation (the
 * server sees the client go away), sends a second turn whose answer must equal the oracle (Generator on the
 * conversation as the page keeps it, the stopped answer included), and renders a fenced block as code.
 */
@Timeout(180)
class WebChatBrowserTest {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium"), DRIVER = Path.of("/usr/bin/chromedriver");

    @TempDir static Path tmp;
    static TestServer s;
    static WebDriver browser;

    @BeforeAll static void start() throws Exception {
        boolean have = Files.isExecutable(CHROMIUM) && Files.isExecutable(DRIVER);
        if (!have && System.getenv("CI") != null)
            fail("CI must install Debian's chromium and chromium-driver (.ci/run does)");
        Assumptions.assumeTrue(have, "no /usr/bin/chromium + /usr/bin/chromedriver (apt-get install chromium chromium-driver)");
        // the small preset's layers: tokens come slowly enough that a browser on a loaded machine sees them arrive
        TestServer.buildModel(tmp, 31, 8192, "small");
        TestServer.zeroHeadRow(tmp, 1); // EOS (id 1): a long greedy answer to stop
        s = new TestServer(tmp, new SamplingParams.Defaults(64, 0f));
        ChromeOptions o = new ChromeOptions();
        o.setBinary(CHROMIUM.toFile());
        o.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1200,900");
        ChromeDriverService svc = new ChromeDriverService.Builder().usingDriverExecutable(DRIVER.toFile()).usingAnyFreePort().build();
        browser = new ChromeDriver(svc, o);
    }

    @AfterAll static void stop() {
        if (browser != null) browser.quit();
        if (s != null) s.close();
    }

    static void set(String id, String value) {
        WebElement e = browser.findElement(By.id(id));
        e.clear();
        e.sendKeys(value);
    }

    static List<WebElement> assistant() { return browser.findElements(By.cssSelector(".msg.assistant")); }

    @Test void sendStreamStopAndASecondTurn() throws Exception {
        WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(60), Duration.ofMillis(20));
        browser.get(s.url("/"));
        wait.until(d -> d.findElement(By.id("model")).getText().equals("tiny-test"));
        browser.findElement(By.id("toggle-settings")).click();
        set("temperature", "0");
        set("max-tokens", "8000");

        // turn 1: tokens arrive, then Stop
        set("input", "hello world");
        browser.findElement(By.id("send")).click();
        wait.until(d -> assistant().size() == 1 && assistant().get(0).getDomAttribute("data-raw") != null
                && !assistant().get(0).getDomAttribute("data-raw").isEmpty());
        int first = assistant().get(0).getDomAttribute("data-raw").length();
        wait.until(d -> assistant().get(0).getDomAttribute("data-raw").length() > first);   // still streaming
        assertTrue(browser.findElement(By.id("send")).getDomProperty("disabled").equals("true"));
        // a script click: no wait for the renderer to report the button interactable (a loaded machine starves it)
        ((org.openqa.selenium.JavascriptExecutor) browser).executeScript("document.getElementById('stop').click()");
        wait.until(d -> assistant().get(0).getDomAttribute("class").contains("stopped"));
        String stopped = assistant().get(0).getDomAttribute("data-raw");
        Thread.sleep(300);
        assertEquals(stopped, assistant().get(0).getDomAttribute("data-raw"), "no text after Stop");
        assertTrue(s.awaitLogLine(l -> l.startsWith("serve: POST /v1/chat/completions 200") && l.contains("(client went away")),
                String.join("\n", s.logLines()));
        assertEquals("true", browser.findElement(By.id("stop")).getDomProperty("disabled"));

        // turn 2: the conversation (with the stopped answer) goes back to the server
        set("max-tokens", "20");
        set("input", "and more");
        browser.findElement(By.id("send")).click();
        wait.until(d -> assistant().size() == 2 && assistant().get(1).getDomAttribute("class").contains("done"));
        List<Message> conv = List.of(Message.user("hello world"), Message.assistant(stopped), Message.user("and more"));
        TestServer.Expected e = s.oracleChunked(ChatTemplate.encode(s.tokenizer, conv, true), 20, Sampler.greedy(), 64);
        assertEquals(e.text(), assistant().get(1).getDomAttribute("data-raw"));
        assertEquals(4, browser.findElements(By.cssSelector(".msg")).size());

        // code blocks show as code
        set("max-tokens", "1");
        WebElement in = browser.findElement(By.id("input"));
        in.sendKeys("look:");
        for (String line : new String[] {"```java", "int x = 42;", "```", "done"}) {
            in.sendKeys(org.openqa.selenium.Keys.chord(org.openqa.selenium.Keys.SHIFT, org.openqa.selenium.Keys.ENTER));
            in.sendKeys(line);
        }
        browser.findElement(By.id("send")).click();
        wait.until(d -> assistant().size() == 3 && assistant().get(2).getDomAttribute("class").contains("done"));
        WebElement code = browser.findElement(By.cssSelector(".msg.user pre code.language-java"));
        assertEquals("int x = 42;\n", code.getDomProperty("textContent"));
    }

    /** A thinking model (DeepSeek-R1's template): its reasoning shows folded above the reply, as the server split it. */
    @Test void aThinkingModelsReasoningShowsAboveTheReply() throws Exception {
        Path d = tmp.resolve("r1");
        TestServer.buildModel(d, 32, 256);
        Files.writeString(d.resolve("tokenizer_config.json"), TestServer.JSON.createObjectNode()
                .put("chat_template", dev.jseek.tokenizer.ChatFormat.DEEPSEEK_R1.template).toString());
        try (TestServer r1 = new TestServer(d, new SamplingParams.Defaults(12, 0f))) {
            WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(60), Duration.ofMillis(20));
            browser.get(r1.url("/"));
            wait.until(b -> b.findElement(By.id("model")).getText().equals("tiny-test"));
            browser.findElement(By.id("toggle-settings")).click();
            set("temperature", "0");
            set("max-tokens", "12");
            set("input", "hello world");
            browser.findElement(By.id("send")).click();
            wait.until(b -> assistant().size() == 1 && assistant().get(0).getDomAttribute("class").contains("done"));
            // oracle: R1's prompt opens <think>, so the reasoning is the text before the first </think>
            String text = r1.oracle(ChatTemplate.encode(r1.tokenizer, List.of(Message.user("hello world")), true), 12, Sampler.greedy()).text();
            int end = text.indexOf("</think>");
            String reasoning = end < 0 ? text : text.substring(0, end), reply = end < 0 ? "" : text.substring(end + 8);
            assertFalse(reasoning.isEmpty());
            WebElement folded = assistant().get(0).findElement(By.cssSelector("details.reasoning > div"));
            assertEquals(reasoning, folded.getDomProperty("textContent"));
            assertEquals(reply, assistant().get(0).getDomAttribute("data-raw"));
        }
    }
}
