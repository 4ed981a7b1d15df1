package org.platformmemory.ffi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The live view in a real browser: a headless Chromium (the Debian packages {@code chromium} and
 * {@code chromium-driver}, which {@code bin/browser-deps} installs) driven through Selenium opens the
 * view of the running C demo game (the SDK's {@code bin/demo_game}, as a game team runs it), and checks
 * that it shows every tag and the audio budget, that its figures change while the game runs, that a diff
 * between the game's two snapshots loads, and that nothing on the page comes from anywhere but the view.
 *
 * <p>The game runs with {@code PLATFORM_MEMORY_OPTIONS="insights=127.0.0.1:0;log=verbose"} and paces its
 * frames; the address is read from the facade's informational line ({@code live view at http://...}), as
 * for any program. An integration test (failsafe): it needs the SDK in {@code dist/}, made in the package
 * phase. Without Chromium the test fails, naming what to install: it never skips.
 */
class LiveViewBrowserIT {

    static final Path CHROMIUM = Path.of(System.getProperty("liveview.chromium", "/usr/bin/chromium"));
    static final Path CHROMEDRIVER = Path.of(System.getProperty("liveview.chromedriver", "/usr/bin/chromedriver"));
    static final List<String> TAGS = List.of("units", "projectiles", "level", "audio");
    static final Pattern ADDRESS = Pattern.compile("live view at (http://[^\\s/]+/)");
    /** The demo's audio budget (demo_game.c): soft 192 KiB, hard 256 KiB. */
    static final long AUDIO_SOFT = 192 * 1024;
    static final long AUDIO_HARD = 256 * 1024;

    private static Process program;
    private static final List<String> output = new ArrayList<>();
    private static URI view;
    private static WebDriver browser;

    @BeforeAll
    static void startProgramAndBrowser() throws Exception {
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
            fail("the live view's browser test needs Chromium and its driver (" + CHROMIUM + ", " + CHROMEDRIVER
                + "): run bin/browser-deps, which installs the Debian packages chromium and chromium-driver");
        }
        program = startProgram();
        view = URI.create(awaitAddress(program));
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        // root in a container: no sandbox; and nothing of Chromium's own going out while it runs
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--window-size=1200,2400");
        ChromeDriverService service = new ChromeDriverService.Builder()
            .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        browser = new ChromeDriver(service, options);
        browser.get(view.toString());
    }

    private static Process startProgram() throws Exception {
        Path dist = Path.of(System.getProperty("dist.dir", "dist"));
        Path demo = dist.resolve("bin/demo_game");
        if (!Files.isExecutable(demo)) {
            fail("no demo game at " + demo + ": the SDK is made in the package phase (./mvnw package)");
        }
        ProcessBuilder builder = new ProcessBuilder(demo.toString(), "--frames", "1000000", "--pace", "5", "--quiet");
        builder.environment().put("PLATFORM_MEMORY_OPTIONS", "insights=127.0.0.1:0;log=verbose");
        builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
        return builder.redirectErrorStream(true).directory(new File(".")).start();
    }

    /** Reads the program's output until the facade's line names the view's address. */
    private static String awaitAddress(Process started) throws Exception {
        CompletableFuture<String> found = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(started.getInputStream(),
                StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    synchronized (output) {
                        output.add(line);
                    }
                    Matcher m = ADDRESS.matcher(line);
                    if (m.find()) {
                        found.complete(m.group(1));
                    }
                }
                found.completeExceptionally(new IllegalStateException("the program ended without a live view"));
            } catch (Exception e) {
                found.completeExceptionally(e);
            }
        }, "live-view-program-output");
        reader.setDaemon(true);
        reader.start();
        try {
            return found.get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            synchronized (output) {
                throw new AssertionError("no 'live view at http://...' line from the program: " + output, e);
            }
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (browser != null) {
            browser.quit();
        }
        if (program != null) {
            program.descendants().forEach(ProcessHandle::destroy);
            program.destroy();
            if (!program.waitFor(10, TimeUnit.SECONDS)) {
                program.destroyForcibly();
            }
        }
    }

    private static WebDriverWait waiting(int seconds) {
        return new WebDriverWait(browser, Duration.ofSeconds(seconds), Duration.ofMillis(100));
    }

    /**
     * An attribute of the element {@code css} selects, read in one step: the page rebuilds its tables on
     * every refresh, so an element found in one call may be gone by the next.
     */
    private static String attr(String css, String attribute) {
        Object value = ((JavascriptExecutor) browser).executeScript(
            "const e = document.querySelector(arguments[0]); return e ? e.getAttribute(arguments[1]) : null;",
            css, attribute);
        return (String) value;
    }

    private static long bytes(String css) {
        String value = attr(css, "data-bytes");
        assertNotNull(value, css);
        return Long.parseLong(value);
    }

    private static long updates() {
        return Long.parseLong(attr("#updated", "data-count"));
    }

    @Test
    void showsEveryTagAndTheBudget() {
        waiting(20).until(b -> TAGS.stream().allMatch(tag -> attr("#tags tr[data-tag='" + tag + "']", "data-tag") != null));
        assertEquals("live", attr("#status", "data-state"));
        for (String tag : TAGS) {
            assertTrue(bytes("#tags tr[data-tag='" + tag + "'] td.live") >= 0, tag);
        }
        waiting(20).until(b -> bytes("#tags tr[data-tag='level'] td.live") > 0); // its graphics buffers, heap blocks
        assertEquals(AUDIO_SOFT, bytes("#budgets tr[data-budget-tag='audio'] td.soft"));
        assertEquals(AUDIO_HARD, bytes("#budgets tr[data-budget-tag='audio'] td.hard"));
        assertNull(attr("#budgets tr[data-budget-tag='units']", "data-budget-tag"), "units have no budget");
        waiting(20).until(b -> attr("#chart path[data-series='units']", "d") != null);
        assertEquals("arena", ((JavascriptExecutor) browser).executeScript(
            "return document.querySelector(\"#backend-figures tr[data-figure='backend'] td:last-child\").textContent;"),
            "the default backend");
        assertTrue(bytes("#total-live") > 0);
    }

    @Test
    void itsFiguresChangeWhileTheProgramRuns() {
        waiting(20).until(b -> updates() >= 1 && attr("#frames tr[data-frame]", "data-frame") != null);
        long live = bytes("#total-live");
        String frame = attr("#frames tr[data-frame]", "data-frame");
        long units = bytes("#tags tr[data-tag='units'] td.live");
        long before = updates();
        waiting(20).until(b -> updates() >= before + 2);
        assertNotEquals(frame, attr("#frames tr[data-frame]", "data-frame"), "the newest frame moved on");
        waiting(20).until(b -> bytes("#total-live") != live && bytes("#tags tr[data-tag='units'] td.live") != units);
    }

    @Test
    void loadsADiffOfTwoSnapshots() {
        waiting(30).until(b -> new Select(b.findElement(By.id("diff-from"))).getOptions().size() >= 2);
        new Select(browser.findElement(By.id("diff-from"))).selectByValue("1");
        new Select(browser.findElement(By.id("diff-to"))).selectByValue("2");
        browser.findElement(By.id("diff-run")).click();
        waiting(10).until(b -> "1".equals(attr("#diff-result", "data-from")) && "2".equals(attr("#diff-result", "data-to")));
        // between frames 100 and 200 the level heap grows and graphics buffers are resized (both "level")
        String level = attr("#diff-tags tr[data-diff-tag='level']", "data-bytes");
        assertNotNull(level, "the level changed between the snapshots");
        assertNotEquals(0, Long.parseLong(level));
        assertTrue(browser.findElement(By.id("diff-text")).getText().startsWith("memory diff from snapshot 1 to snapshot 2"));
        // the choice survives the page's refreshes
        long before = updates();
        waiting(10).until(b -> updates() >= before + 2);
        assertEquals("1", new Select(browser.findElement(By.id("diff-from"))).getFirstSelectedOption().getDomAttribute("value"));
    }

    @Test
    void fetchesNothingFromOutside() {
        waiting(20).until(b -> updates() >= 2);
        String origin = view.getScheme() + "://" + view.getAuthority();
        @SuppressWarnings("unchecked")
        List<String> fetched = (List<String>) ((JavascriptExecutor) browser).executeScript(
            "return performance.getEntries().filter(e => e.entryType === 'navigation' || e.entryType === 'resource')"
                + ".map(e => e.name);");
        assertFalse(fetched.isEmpty(), "the browser recorded its requests");
        assertTrue(fetched.stream().anyMatch(u -> u.startsWith(origin + "/api/state")), fetched::toString);
        for (String url : fetched) {
            assertTrue(url.startsWith(origin + "/"), "fetched from elsewhere: " + url);
        }
        @SuppressWarnings("unchecked")
        List<String> references = (List<String>) ((JavascriptExecutor) browser).executeScript(
            "return [...document.querySelectorAll('[src],[href]')].map(e => e.getAttribute('src') || e.getAttribute('href'));");
        for (String reference : references) {
            assertTrue(reference.startsWith("data:") || reference.startsWith("/") && !reference.startsWith("//"),
                "the page refers to " + reference);
        }
        assertFalse(browser.getPageSource().matches("(?s).*(src|href)\\s*=\\s*\"(https?:)?//.*"), "no external src or href");
    }
}
