package org.platformmemory.api;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.platformmemory.api.contract.RecordingErrorHandler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tags, budgets, frames, forbidden regions, snapshots and the report on the facade's (Java) path. */
class InsightsTest {

    private TrackedAllocator memory;
    private Insights insights;
    private RecordingErrorHandler errors;

    @BeforeEach
    void open() {
        memory = TrackedAllocator.open(AllocatorConfig.of(Map.of("backend", "system", "tracking", "leaks")));
        insights = memory.insights();
        errors = new RecordingErrorHandler();
        memory.setErrorHandler(errors);
    }

    @AfterEach
    void close() {
        memory.close();
    }

    private TagStats tag(String name) {
        return insights.tagStats().stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow();
    }

    private void assertTagsAddUp() {
        long bytes = 0;
        long blocks = 0;
        for (TagStats t : insights.tagStats()) {
            bytes += t.liveBytes();
            blocks += t.liveBlocks();
        }
        assertEquals(memory.liveBytes(), bytes, "tags' live bytes add up to the total");
        assertEquals(memory.liveBlocks(), blocks, "tags' live blocks add up to the total");
    }

    @Test
    void shouldChargeEveryBlockToTheInnermostTagUntilItIsFreed() {
        long a = memory.allocate(100, 0);
        int units = insights.pushTag("units");
        long b = memory.allocate(200, 0);
        int level = insights.pushTag("level");
        long c = memory.allocate(300, 0);
        insights.popTag();
        long d = memory.allocate(400, 0);
        insights.popTag();
        assertTrue(units > 0 && level > 0 && units != level);
        assertEquals(units, insights.pushTag("units"), "the same name, the same id");
        insights.popTag();
        assertEquals(0, insights.currentTag());
        assertEquals(100, tag("untagged").liveBytes());
        assertEquals(600, tag("units").liveBytes());
        assertEquals(2, tag("units").liveBlocks());
        assertEquals(300, tag("level").liveBytes());
        b = memory.reallocate(b, 0, 5000); // keeps its tag, wherever it moves
        assertEquals(5400, tag("units").liveBytes());
        assertTagsAddUp();
        memory.free(b, 0);
        memory.free(d, 0);
        assertEquals(0, tag("units").liveBytes());
        assertEquals(2, tag("units").frees());
        assertEquals(5400, tag("units").peakBytes());
        memory.free(a, 0);
        memory.free(c, 0);
        assertTagsAddUp();
    }

    @Test
    void shouldChargeAHeapBlockToTheTagCurrentAtItsAllocation() {
        try (PrivateHeap heap = memory.createHeap()) {
            insights.pushTag("level");
            heap.allocate(1000, 0);
            insights.popTag();
            heap.allocate(24, 0);
            assertEquals(1000, tag("level").liveBytes());
            assertEquals(24, tag("untagged").liveBytes());
        }
        assertEquals(0, tag("level").liveBytes(), "the heap's destroy credits its blocks' tags");
        assertEquals(1, tag("level").frees());
        assertTagsAddUp();
    }

    @Test
    void shouldAddUpAfterRandomCallsFromSeveralThreads() throws InterruptedException {
        List<Long> shared = Collections.synchronizedList(new ArrayList<>());
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int seed = t;
            threads.add(Thread.ofPlatform().start(() -> {
                SplittableRandom random = new SplittableRandom(seed);
                String[] names = {"units", "projectiles", "level", "audio"};
                List<Long> mine = new ArrayList<>();
                for (int i = 0; i < 20_000; i++) {
                    int what = random.nextInt(10);
                    if (what == 0) {
                        insights.pushTag(names[random.nextInt(names.length)]);
                    } else if (what == 1) {
                        insights.popTag();
                    } else if (what < 6 || mine.isEmpty()) {
                        mine.add(memory.allocate(1 + random.nextInt(20_000), 0));
                    } else if (what < 8) {
                        int k = random.nextInt(mine.size());
                        mine.set(k, memory.reallocate(mine.get(k), 0, 1 + random.nextInt(20_000)));
                    } else if (what == 8) {
                        shared.add(mine.remove(mine.size() - 1));
                    } else {
                        memory.free(mine.remove(random.nextInt(mine.size())), 0);
                    }
                }
                mine.forEach(p -> memory.free(p, 0));
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        assertTagsAddUp();
        shared.forEach(p -> memory.free(p, 0)); // freed on another thread: credited to their own tags
        assertTagsAddUp();
        assertEquals(0, memory.liveBlocks());
        for (TagStats t : insights.tagStats()) {
            assertEquals(0, t.liveBytes(), t.name());
            assertEquals(t.allocations(), t.frees(), t.name());
        }
    }

    @Test
    void shouldReportASoftBudgetOncePerCrossingAndFailAtTheHardOne() {
        assertEquals(insights.pushTag("audio"), insights.setTagBudget("audio", 10_000, 20_000));
        List<Long> blocks = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            blocks.add(memory.allocate(1000, 0)); // 10000: at the soft budget, not past it
        }
        assertTrue(errors.errors().isEmpty());
        blocks.add(memory.allocate(1000, 0));
        blocks.add(memory.allocate(1000, 0));
        assertEquals(List.of(ErrorCode.BUDGET), errors.errors(), "one report for one crossing");
        assertTrue(errors.last().message().contains("audio"));
        for (int i = 0; i < 8; i++) {
            blocks.add(memory.allocate(1000, 0)); // 20000
        }
        assertEquals(0, memory.allocate(1, 0), "the hard budget refuses one byte more");
        assertEquals(ErrorCode.ALLOCATION_FAILED, errors.last().error());
        assertTrue(errors.last().message().contains("audio"), errors.last().message());
        assertEquals(20_000, tag("audio").liveBytes());
        assertEquals(0, memory.reallocate(blocks.get(0), 0, 2000), "growth is refused too");
        assertEquals(20_000, tag("audio").liveBytes(), "the refused growth left the block as it was");
        blocks.forEach(p -> memory.free(p, 0));
        for (int i = 0; i < 11; i++) {
            blocks.add(memory.allocate(1000, 0));
        }
        assertEquals(2, errors.errors().stream().filter(e -> e == ErrorCode.BUDGET).count(), "a second crossing");
        insights.popTag();
        assertNotEquals(0, memory.allocate(50_000, 0), "another tag is not limited");
        assertEquals(0, memory.callerErrors(), "budgets are not the caller's errors");
        assertEquals(-1, insights.setTagBudget("audio", -1, 0), "SIZE_MAX as a budget");
        assertEquals(ErrorCode.SIZE_OVERFLOW, errors.last().error());
        assertEquals(20_000, tag("audio").hardBudget(), "the budgets stay as they were");
        assertEquals(1, memory.callerErrors(), "a budget above Long.MAX_VALUE is the caller's error");
    }

    @Test
    void shouldGiveEachFrameItsOwnFiguresAndPeak() {
        insights.frameMark();
        long a = memory.allocate(1000, 0);
        long b = memory.allocate(3000, 0);
        memory.free(a, 0);
        long c = memory.allocate(500, 0);
        FrameStats first = insights.frameMark();
        assertEquals(new FrameStats(2, 3, 1, 4500, 1000, 4000, 3500), first);
        memory.free(b, 0);
        c = memory.reallocate(c, 0, 700);
        FrameStats second = insights.frameMark();
        assertEquals(new FrameStats(3, 0, 1, 200, 3000, 3500, 700), second);
        assertEquals(second, insights.lastFrame());
        assertEquals(3, insights.recentFrames().size());
        memory.free(c, 0);
    }

    @Test
    void shouldReportAllocationsInAForbiddenRegionAndServeThem() {
        insights.forbidAllocations(true);
        long p = memory.allocate(64, 0);
        insights.forbidAllocations(false);
        long q = memory.allocate(64, 0);
        assertNotEquals(0, p);
        assertNotEquals(0, q);
        assertEquals(List.of(ErrorCode.FORBIDDEN), errors.errors());
        memory.free(p, 0);
        memory.free(q, 0);
    }

    @Test
    void shouldDiffTwoSnapshotsByTagAndSite(@TempDir Path dir) throws Exception {
        long old = memory.allocate(256, 0, 16, memory.site("menu.c", 1));
        long first = insights.snapshot();
        insights.pushTag("units");
        long u1 = memory.allocate(100, 0, 16, memory.site("units.c", 7));
        long u2 = memory.allocate(100, 0, 16, memory.site("units.c", 7));
        insights.popTag();
        memory.free(old, 0);
        long second = insights.snapshot();
        SnapshotDiff diff = insights.diff(first, second);
        assertEquals(List.of(new SnapshotDiff.Change("untagged", 256, 0, 1, 0), new SnapshotDiff.Change("units", 0, 200, 0, 2)),
            diff.tags(), "largest change first");
        assertEquals(List.of(new SnapshotDiff.Change("menu.c:1", 256, 0, 1, 0), new SnapshotDiff.Change("units.c:7", 0, 200, 0, 2)),
            diff.sites());
        assertTrue(diff.text().contains("units"), diff.text());
        memory.free(u1, 0);
        assertEquals(List.of(new SnapshotDiff.Change("units", 200, 100, 2, 1)), insights.diff(second, 0).tags());
        assertNull(insights.diff(99, 0), "an unknown snapshot");
        Path report = dir.resolve("memory.json");
        assertTrue(insights.writeReport(report));
        String json = Files.readString(report);
        assertTrue(json.contains("\"name\":\"units\"") && json.contains("\"snapshots\"") && json.contains("units.c:7"), json);
        memory.free(u2, 0);
    }

    @Test
    void shouldFallBackToUntaggedWhenEveryTagIsTaken() {
        int last = 0;
        for (int i = 1; i < 255; i++) {
            last = insights.pushTag("t" + i);
            insights.popTag();
        }
        assertEquals(254, last);
        assertEquals(255, insights.pushTag("t255"));
        insights.popTag();
        assertEquals(0, insights.pushTag("one too many"), "256 tags, untagged included");
        assertEquals(ErrorCode.ALLOCATION_FAILED, errors.last().error());
        long p = memory.allocate(10, 0);
        insights.popTag();
        assertEquals(10, tag("untagged").liveBytes());
        memory.free(p, 0);
    }
}
