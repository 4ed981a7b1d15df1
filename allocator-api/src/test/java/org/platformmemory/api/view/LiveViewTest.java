package org.platformmemory.api.view;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.Insights;
import org.platformmemory.api.InvalidConfigException;
import org.platformmemory.api.TrackedAllocator;

class LiveViewTest {

    private final HttpClient http = HttpClient.newHttpClient();
    private TrackedAllocator memory;

    @AfterEach
    void closeMemory() {
        if (memory != null) {
            memory.close();
        }
        http.close();
    }

    private LiveView open(String options) {
        memory = TrackedAllocator.open(AllocatorConfig.parse("backend=system;" + options));
        return memory.liveView();
    }

    private HttpResponse<String> get(LiveView view, String path) throws Exception {
        return send(view, path, "GET");
    }

    private HttpResponse<String> send(LiveView view, String path, String method) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(view.uri().resolve(path))
            .method(method, HttpRequest.BodyPublishers.noBody()).build();
        return http.send(request, HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void isOffByDefault() {
        for (String options : List.of("", "insights=", "insights=off")) {
            try (TrackedAllocator m = TrackedAllocator.open(AllocatorConfig.parse("backend=system;" + options))) {
                assertNull(m.liveView(), options);
            }
        }
    }

    @Test
    void startsOnAFreePortOfTheLoopbackAddress() {
        LiveView view = open("insights=127.0.0.1:0");
        assertNotNull(view);
        assertNotEquals(0, view.address().getPort());
        assertTrue(view.address().getAddress().isLoopbackAddress());
        assertEquals(URI.create("http://127.0.0.1:" + view.address().getPort() + "/"), view.uri());
    }

    @Test
    void aBarePortMeansTheLoopbackAddress() {
        InetSocketAddress at = LiveView.option(AllocatorConfig.parse("insights=0"));
        assertTrue(at.getAddress().isLoopbackAddress());
        assertEquals(0, at.getPort());
        assertEquals(8123, LiveView.option(AllocatorConfig.parse("insights=[::1]:8123")).getPort());
    }

    @Test
    void rejectsAMalformedOption() {
        for (String bad : List.of("127.0.0.1:99999", "127.0.0.1:port", "127.0.0.1:", ":8123", "::1:8123",
            "127.0.0.1:-1", "no-such-host.invalid:8123")) {
            InvalidConfigException e = assertThrows(InvalidConfigException.class,
                () -> TrackedAllocator.open(AllocatorConfig.parse("backend=system;insights=" + bad)), bad);
            assertTrue(e.getMessage().startsWith("allocator.insights: '" + bad + "' is not a live view address"),
                e.getMessage());
        }
    }

    @Test
    void aPortInUseFailsTheOpenNamingIt() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            InvalidConfigException e = assertThrows(InvalidConfigException.class, () -> TrackedAllocator.open(
                AllocatorConfig.parse("backend=system;insights=127.0.0.1:" + taken.getLocalPort())));
            assertTrue(e.getMessage().startsWith("allocator.insights: cannot serve the live view on 127.0.0.1:"
                + taken.getLocalPort()), e.getMessage());
        }
    }

    @Test
    void servesThePageFromTheJar() throws Exception {
        HttpResponse<String> page = get(open("insights=127.0.0.1:0"), "/");
        assertEquals(200, page.statusCode());
        assertTrue(page.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
        assertTrue(page.body().contains("id=\"total-live\""));
        assertTrue(page.body().contains("id=\"diff-run\""));
        assertTrue(page.headers().firstValue("Content-Security-Policy").orElse("").contains("default-src 'none'"));
        assertFalse(page.body().matches("(?s).*(src|href)=\"(https?:)?//.*"), "the page loads nothing from outside");
        assertEquals(404, get(memory.liveView(), "/etc/passwd").statusCode());
    }

    @Test
    void servesTheFiguresOfTheAllocator() throws Exception {
        LiveView view = open("insights=127.0.0.1:0;tracking=leaks");
        Insights insights = memory.insights();
        insights.setTagBudget("audio", 1000, 4000);
        insights.pushTag("units");
        long[] units = {memory.allocate(100, 0), memory.allocate(200, 0), memory.allocate(300, 0)};
        insights.popTag();
        insights.pushTag("audio");
        long audio = memory.allocate(1500, 0);
        insights.popTag();
        insights.frameMark();
        memory.free(units[0], 100);
        insights.frameMark();

        String state = get(view, "/api/state").body();
        assertTrue(state.contains("\"totals\":{\"liveBytes\":2000,\"liveBlocks\":3,"), state);
        assertTrue(state.contains("\"name\":\"units\",\"liveBytes\":500,\"liveBlocks\":2,"), state);
        assertTrue(state.contains("\"name\":\"audio\",\"liveBytes\":1500,\"liveBlocks\":1,"), state);
        assertTrue(state.contains("\"softBudget\":1000,\"hardBudget\":4000}"), state);
        assertTrue(state.contains("{\"number\":1,\"allocations\":4,\"frees\":0,\"bytesAllocated\":2100,"), state);
        assertTrue(state.contains("{\"number\":2,\"allocations\":0,\"frees\":1,\"bytesAllocated\":0,\"bytesFreed\":100,"),
            state);
        assertTrue(state.contains("\"backend\":\"system\""), state);
        assertTrue(state.contains("\"sites\":[{\"site\":"), "tracking=leaks lists sites: " + state);
        memory.free(audio, 1500);
        assertTrue(get(view, "/api/state").body().contains("\"totals\":{\"liveBytes\":500,\"liveBlocks\":2,"));
    }

    @Test
    void servesTheSampledStacksAsEstimates() throws Exception {
        LiveView view = open("insights=127.0.0.1:0;sample=4096");
        memory.nameStacksWith(id -> id == 1 ? TrackedAllocator.stackName(List.of("load_level (level.c:12)"), null, 0)
            : id == 2 ? TrackedAllocator.stackName(List.of("spawn_unit (units.c:40)"), null, 0) : null);
        // blocks the C boundary sampled arrive with their stack; the others with none
        long level = memory.allocate(2048, 0, 16, TrackedAllocator.stackSite(1));
        long unit = memory.allocate(512, 0, 16, TrackedAllocator.stackSite(2));
        long plain = memory.allocate(64, 0);
        String state = get(view, "/api/state").body();
        // one sample of s bytes stands for s / (1 - exp(-s / rate)) bytes, and that many bytes / s blocks
        long levelBytes = Math.round(2048 / -Math.expm1(-2048.0 / 4096));
        assertTrue(state.contains("{\"site\":\"load_level (level.c:12)\",\"liveBytes\":" + levelBytes + ",\"liveBlocks\":"
            + Math.round(levelBytes / 2048.0) + ",\"estimate\":true}"), state);
        assertTrue(state.contains("{\"site\":\"spawn_unit (units.c:40)\""), state);
        long before = memory.insights().snapshot();
        long more = memory.allocate(2048, 0, 16, TrackedAllocator.stackSite(1));
        String diff = get(view, "/api/diff?from=" + before + "&to=0").body();
        assertTrue(diff.contains("\"sitesEstimated\":true") && diff.contains("sites changed (estimated from samples)"), diff);
        assertTrue(diff.contains("{\"name\":\"load_level (level.c:12)\",\"bytesBefore\":" + levelBytes + ",\"bytesAfter\":"
            + 2 * levelBytes), diff);
        memory.free(more, 0);
        memory.free(level, 0);
        memory.free(unit, 0);
        memory.free(plain, 0);
        assertTrue(get(view, "/api/state").body().contains("\"sites\":[]"), "freed samples are gone");
    }

    @Test
    void samplesTheTagsWhileItRuns() throws Exception {
        LiveView view = open("insights=127.0.0.1:0");
        memory.insights().pushTag("level");
        long p = memory.allocate(4096, 0);
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (view.sampleCount() < 3 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertTrue(view.sampleCount() >= 3, "samples taken every " + LiveView.SAMPLE_MILLIS + " ms");
        String state = get(view, "/api/state").body();
        assertTrue(state.contains("\"samples\":{\"intervalMillis\":250,\"tags\":[\"untagged\",\"level\"],\"points\":[["),
            state);
        assertTrue(state.matches("(?s).*\\[[0-9]+,4096,0,4096\\].*"), "a sample with level's 4096 bytes: " + state);
        memory.free(p, 4096);
    }

    @Test
    void diffsTwoSnapshotsTheProgramTook() throws Exception {
        LiveView view = open("insights=127.0.0.1:0");
        Insights insights = memory.insights();
        long first = insights.snapshot();
        insights.pushTag("projectiles");
        memory.allocate(640, 0);
        insights.popTag();
        long second = insights.snapshot();

        HttpResponse<String> diff = get(view, "/api/diff?from=" + first + "&to=" + second);
        assertEquals(200, diff.statusCode());
        assertTrue(diff.body().contains("{\"name\":\"projectiles\",\"bytesBefore\":0,\"bytesAfter\":640,"
            + "\"blocksBefore\":0,\"blocksAfter\":1,\"bytes\":640,\"blocks\":1}"), diff.body());
        assertTrue(get(view, "/api/state").body().contains("\"snapshots\":[{\"id\":1,"));
        assertEquals(200, get(view, "/api/diff?from=" + first + "&to=0").statusCode());
        assertEquals(404, get(view, "/api/diff?from=99&to=0").statusCode());
        assertEquals(400, get(view, "/api/diff?from=x").statusCode());
        assertEquals(400, get(view, "/api/diff").statusCode());
    }

    @Test
    void refusesEverythingButGet() throws Exception {
        LiveView view = open("insights=127.0.0.1:0");
        for (String method : List.of("POST", "PUT", "DELETE", "PATCH")) {
            for (String path : List.of("/", "/api/state", "/api/diff?from=1")) {
                HttpResponse<String> r = send(view, path, method);
                assertEquals(405, r.statusCode(), method + " " + path);
                assertEquals("GET", r.headers().firstValue("Allow").orElse(null));
            }
        }
        assertEquals(0, memory.insights().snapshots().size(), "nothing was changed");
    }

    @Test
    void answersOnlyAsTheHostItListensAs() throws Exception {
        LiveView view = open("insights=127.0.0.1:0");
        assertTrue(raw(view, "127.0.0.1:" + view.address().getPort()).startsWith("HTTP/1.1 200"));
        assertTrue(raw(view, "localhost:" + view.address().getPort()).startsWith("HTTP/1.1 200"));
        assertTrue(raw(view, "attacker.example:" + view.address().getPort()).startsWith("HTTP/1.1 421"));
    }

    private static String raw(LiveView view, String host) throws IOException {
        try (Socket socket = new Socket(view.address().getAddress(), view.address().getPort())) {
            OutputStream out = socket.getOutputStream();
            out.write(("GET /api/state HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void tellsItsAddressInOneInformationalLine() {
        Logger logger = Logger.getLogger("org.platformmemory");
        Level before = logger.getLevel();
        List<String> lines = new ArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                lines.add(record.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        boolean parents = logger.getUseParentHandlers();
        logger.setLevel(Level.ALL);
        logger.setUseParentHandlers(false);
        logger.addHandler(capture);
        try {
            LiveView view = open("insights=127.0.0.1:0;log=verbose");
            assertEquals(List.of("platform-memory: live view at http://127.0.0.1:" + view.address().getPort() + "/"),
                lines);
        } finally {
            logger.removeHandler(capture);
            logger.setUseParentHandlers(parents);
            logger.setLevel(before);
        }
    }

    @Test
    void runsOnDaemonThreadsAndStopsOnClose() throws Exception {
        LiveView view = open("insights=127.0.0.1:0");
        get(view, "/api/state");
        List<Thread> threads = viewThreads();
        assertTrue(threads.stream().anyMatch(t -> t.getName().startsWith("platform-memory-view-sampler")), threads::toString);
        assertTrue(threads.stream().anyMatch(t -> t.getName().equals("HTTP-Dispatcher")), threads::toString);
        assertTrue(threads.stream().allMatch(Thread::isDaemon), "a view never keeps the program alive: " + threads);

        memory.close();
        assertThrows(ConnectException.class, () -> get(view, "/api/state"));
        long deadline = System.nanoTime() + 2_000_000_000L;
        while (!viewThreads().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(List.of(), viewThreads());
    }

    private static List<Thread> viewThreads() {
        return Thread.getAllStackTraces().keySet().stream()
            .filter(t -> t.getName().startsWith("platform-memory-view") || t.getName().equals("HTTP-Dispatcher"))
            .toList();
    }
}
