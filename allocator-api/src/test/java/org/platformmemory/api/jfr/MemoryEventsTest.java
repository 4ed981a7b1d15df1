package org.platformmemory.api.jfr;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.FrameStats;
import org.platformmemory.api.Insights;
import org.platformmemory.api.LogLevel;
import org.platformmemory.api.TrackedAllocator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The three JFR events, recorded in this JVM and read back from the dumped file. */
class MemoryEventsTest {

    private static final Duration PERIOD = Duration.ofMillis(20);

    @TempDir
    Path dir;

    private static TrackedAllocator open() {
        TrackedAllocator memory = TrackedAllocator.open(AllocatorConfig.of(Map.of("backend", "system")));
        memory.setLogLevel(LogLevel.QUIET);
        return memory;
    }

    private static Recording recording() {
        Recording r = new Recording();
        r.enable(TagEvent.NAME).withPeriod(PERIOD);
        r.enable(FrameEvent.NAME);
        r.enable(ErrorEvent.NAME);
        r.start();
        return r;
    }

    private List<RecordedEvent> stop(Recording r, String name) throws IOException {
        r.stop();
        Path file = dir.resolve(name + ".jfr");
        r.dump(file);
        r.close();
        return RecordingFile.readAllEvents(file);
    }

    private static List<RecordedEvent> named(List<RecordedEvent> events, String eventName) {
        return events.stream().filter(e -> e.getEventType().getName().equals(eventName)).toList();
    }

    private static List<RecordedEvent> tagged(List<RecordedEvent> events, String tag) {
        return named(events, TagEvent.NAME).stream().filter(e -> tag.equals(e.getString("tag"))).toList();
    }

    /** Lets the periodic hook run many times (25 periods) with the figures as they are now. */
    private static void letPeriodsPass() throws InterruptedException {
        Thread.sleep(PERIOD.toMillis() * 25);
    }

    @Test
    void tagsFramesAndErrorsAreRecorded() throws Exception {
        Recording r = recording();
        long doubleFreed;
        List<RecordedEvent> events;
        try (TrackedAllocator memory = open()) {
            Insights insights = memory.insights();
            insights.frameMark(); // frame 1: nothing in it
            insights.pushTag("jfr-audio");
            long a = memory.allocate(1000, 0);
            long b = memory.allocate(1000, 0);
            insights.pushTag("jfr-ai");
            long c = memory.allocate(300, 0);
            insights.popTag();
            insights.popTag();
            insights.setTagBudget("jfr-ai", 4096, 8192);
            FrameStats second = insights.frameMark(); // frame 2: three allocations, 2300 bytes
            assertEquals(3, second.allocations());
            memory.free(c, 300);
            doubleFreed = memory.allocate(64, 0);
            memory.free(doubleFreed, 64);
            memory.free(doubleFreed, 64); // DOUBLE_FREE
            insights.frameMark(); // frame 3: one allocation, two frees
            letPeriodsPass();
            events = stop(r, "all"); // before the frees below, so every tag event has the figures above
            memory.free(a, 1000);
            memory.free(b, 1000);
        }

        List<RecordedEvent> audio = tagged(events, "jfr-audio");
        assertFalse(audio.isEmpty(), "no platformmemory.Tag event for jfr-audio");
        RecordedEvent lastAudio = audio.getLast();
        assertEquals(2000, lastAudio.getLong("liveBytes"));
        assertEquals(2, lastAudio.getLong("liveBlocks"));
        assertEquals(2000, lastAudio.getLong("peakBytes"));
        assertEquals(2, lastAudio.getLong("allocations"));
        assertEquals(0, lastAudio.getLong("frees"));
        assertEquals("system", lastAudio.getString("backend"));
        RecordedEvent lastAi = tagged(events, "jfr-ai").getLast();
        assertEquals(0, lastAi.getLong("liveBytes"));
        assertEquals(300, lastAi.getLong("peakBytes"));
        assertEquals(1, lastAi.getLong("frees"));
        assertEquals(4096, lastAi.getLong("softBudget"));
        assertEquals(8192, lastAi.getLong("hardBudget"));
        assertTrue(audio.stream().allMatch(e -> e.getLong("allocator") == lastAi.getLong("allocator")),
            "both tags come from one allocator");

        List<RecordedEvent> frames = named(events, FrameEvent.NAME).stream()
            .filter(e -> "system".equals(e.getString("backend"))).toList();
        assertEquals(List.of(1L, 2L, 3L), frames.stream().map(e -> e.getLong("number")).toList());
        RecordedEvent frame2 = frames.get(1);
        assertEquals(3, frame2.getLong("allocations"));
        assertEquals(0, frame2.getLong("frees"));
        assertEquals(2300, frame2.getLong("bytesAllocated"));
        assertEquals(2300, frame2.getLong("liveBytesAtEnd"));
        RecordedEvent frame3 = frames.get(2);
        assertEquals(1, frame3.getLong("allocations"));
        assertEquals(2, frame3.getLong("frees"));
        assertEquals(364, frame3.getLong("bytesFreed"));
        assertEquals(2000, frame3.getLong("liveBytesAtEnd"));

        List<RecordedEvent> errors = named(events, ErrorEvent.NAME).stream()
            .filter(e -> e.getLong("address") == doubleFreed).toList();
        assertEquals(1, errors.size(), "one error event at the double-freed address");
        assertEquals("DOUBLE_FREE", errors.getFirst().getString("code"));
        assertTrue(errors.getFirst().getString("message").contains("already freed"),
            errors.getFirst().getString("message"));
    }

    @Test
    void aClosedAllocatorEmitsNoMoreTagEvents() throws Exception {
        try (TrackedAllocator stays = open()) {
            stays.insights().pushTag("jfr-stays");
            long kept = stays.allocate(16, 0);
            TrackedAllocator closes = open();
            closes.insights().pushTag("jfr-closes");
            long gone = closes.allocate(32, 0);

            Recording before = recording();
            letPeriodsPass();
            List<RecordedEvent> whileOpen = stop(before, "before");
            assertFalse(tagged(whileOpen, "jfr-closes").isEmpty(), "tag events while the allocator was open");

            closes.free(gone, 32);
            closes.close();
            Recording after = recording();
            letPeriodsPass();
            List<RecordedEvent> afterClose = stop(after, "after");
            assertFalse(tagged(afterClose, "jfr-stays").isEmpty(), "the periodic hook still ran");
            assertTrue(tagged(afterClose, "jfr-closes").isEmpty(), "tag events from a closed allocator");
            stays.free(kept, 16);
        }
    }

    @Test
    void closingEmitsOneLastRoundWithTheFiguresAtClose() throws Exception {
        Recording r = new Recording();
        r.enable(TagEvent.NAME).withPeriod(Duration.ofHours(1)); // no periodic run within the test
        r.start();
        TrackedAllocator memory = open();
        memory.insights().pushTag("jfr-final");
        memory.allocate(32, 0);
        memory.allocate(32, 0);
        memory.close(); // frees both, after the last round
        List<RecordedEvent> events = stop(r, "final");
        List<RecordedEvent> last = tagged(events, "jfr-final");
        assertEquals(1, last.size(), "one event for the tag, from the close");
        assertEquals(64, last.getFirst().getLong("liveBytes"));
        assertEquals(2, last.getFirst().getLong("liveBlocks"));
    }

    @Test
    void anAllocatorNobodyClosedIsNotKeptAlive() throws Exception {
        long number = dropOne();
        assertTrue(number > 0);
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (MemoryEvents.isRegistered(number) && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(20);
        }
        assertFalse(MemoryEvents.isRegistered(number), "an unreachable allocator is still registered");
    }

    @Test
    void aProcessThatNeverRecordsNeverStartsTheRecorder() throws Exception {
        // in a JVM of its own (this one has recorded already), which lists the classes it loads: the
        // recorder's metadata is what an event class's first use builds (a hitch of 100 ms and more)
        ProcessBuilder builder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--enable-native-access=ALL-UNNAMED", "-Xlog:class+load=info:stdout", "-cp", System.getProperty("java.class.path"),
            NeverRecords.class.getName());
        builder.redirectErrorStream(true);
        Process child = builder.start();
        String text = new String(child.getInputStream().readAllBytes());
        assertEquals(0, child.waitFor(), text);
        assertTrue(text.contains("closed"), text);
        assertFalse(text.contains("jdk.jfr.internal.MetadataRepository"), "the recorder's metadata was built");
    }

    /** Opens an allocator, uses its tags, frames and errors, and closes it. */
    static final class NeverRecords {
        public static void main(String[] args) {
            TrackedAllocator memory = open();
            memory.insights().pushTag("never-recorded");
            memory.free(memory.allocate(64, 0), 64);
            memory.insights().frameMark();
            memory.free(12345, 16); // an error, reported
            memory.insights().popTag();
            memory.close();
            System.out.println("closed");
        }
    }

    private static long dropOne() {
        TrackedAllocator memory = open();
        memory.insights().pushTag("jfr-dropped");
        long number = MemoryEvents.numberOf(memory);
        assertTrue(MemoryEvents.isRegistered(number));
        return number;
    }
}
