package org.platformmemory.api.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.platformmemory.api.Allocator;
import org.platformmemory.api.LiveBlock;
import org.platformmemory.api.MemoryFlags;
import org.platformmemory.api.Tracking;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.platformmemory.api.internal.ErrorReporter.hex;

class LiveBlocksTest {

    private final Allocator libc = new SystemAllocator();
    private final List<Long> taken = new ArrayList<>();
    private final ErrorReporter errors = new ErrorReporter();
    private final LiveBlockSet blocks = new LiveBlockSet(4);
    private BlockHeader header;
    private Tracker tracker;
    private LiveBlocks live;

    private void mode(Tracking mode) {
        header = new BlockHeader(mode);
        tracker = Tracker.of(mode, header, errors);
        live = new LiveBlocks(blocks, header, tracker, "system", mode);
    }

    @AfterEach
    void giveBack() {
        taken.forEach(base -> libc.free(base, 0, Allocator.MIN_ALIGNMENT));
    }

    /** A live block as the placement leaves it. */
    private long block(long size, int flags, int heapTag, int site) {
        long base = libc.allocate(header.overheadFor(16) + size, 16);
        taken.add(base);
        long user = base + header.offsetFor(16);
        header.write(user, size, flags, 4, heapTag, 0);
        tracker.onAllocate(user, size, flags, site);
        blocks.add(user, LiveBlockSet.ALLOCATED);
        return user;
    }

    @Test
    void shouldTellTheSizeOfALiveBlockAndZeroForAnythingElse() {
        mode(Tracking.COUNTERS);
        long user = block(100, 0, 0, 0);
        assertEquals(100, live.sizeOf(user));
        assertEquals(0, live.sizeOf(user + 16));
        assertEquals(0, live.sizeOf(0x10), "an unmapped address is never read");
        blocks.remove(user, LiveBlockSet.FREED);
        assertEquals(0, live.sizeOf(user));
    }

    @Test
    void shouldTellTheHeapOfALiveBlockByIdAndTag() {
        mode(Tracking.COUNTERS);
        HeapRecord heap = new HeapRegistry().register(libc, true);
        long inHeap = block(32, 0, heap.tag, 0);
        long outside = block(32, 0, 0, 0);
        assertEquals(heap.id, live.heapIdOf(inHeap));
        assertEquals(heap.tag, live.heapTagOf(inHeap));
        assertEquals(0, live.heapIdOf(outside));
        assertEquals(0, live.heapTagOf(outside));
        assertEquals(-1, live.heapIdOf(0x10));
        assertEquals(-1, live.heapTagOf(outside + 8));
    }

    @Test
    void shouldListEveryLiveBlockByAddressWithItsSizeFlagsAndSite() {
        mode(Tracking.LEAKS);
        int site = tracker.siteId("game.c", 12);
        long a = block(10, MemoryFlags.CLEAR, 0, site);
        long b = block(20, MemoryFlags.TEMP, 0, site);
        long c = block(30, 0, 0, tracker.siteId(null, 0));
        List<LiveBlock> expected = new ArrayList<>(List.of(new LiveBlock(a, 10, MemoryFlags.CLEAR, "game.c:12", 1),
            new LiveBlock(b, 20, MemoryFlags.TEMP, "game.c:12", 2), new LiveBlock(c, 30, 0, "(C caller, no file:line)", 3)));
        expected.sort((x, y) -> Long.compare(x.address(), y.address()));
        assertEquals(expected, live.list());
    }

    @Test
    void shouldSayNoSiteWasRecordedInCountersMode() {
        mode(Tracking.COUNTERS);
        long a = block(10, 0, 0, tracker.siteId("game.c", 12));
        assertEquals(List.of(new LiveBlock(a, 10, 0, SiteTable.NOT_RECORDED)), live.list());
    }

    @Test
    void shouldWriteALeakReportWithEveryBlockAndTheTotalsBySite() {
        mode(Tracking.LEAKS);
        int first = tracker.siteId("a.c", 1);
        int second = tracker.siteId("b.c", 2);
        long[] users = {block(100, MemoryFlags.CLEAR, 0, first), block(200, 0, 0, first), block(50, MemoryFlags.TEMP, 0, second)};
        long[] sorted = users.clone();
        Arrays.sort(sorted);
        StringBuilder expected = new StringBuilder("platform-memory leak report (backend system, tracking leaks)\n");
        for (long u : sorted) {
            String line;
            String site;
            if (u == users[0]) {
                line = "100 bytes  CLEAR  #1";
                site = "a.c:1";
            } else if (u == users[1]) {
                line = "200 bytes  NORMAL  #2";
                site = "a.c:1";
            } else {
                line = "50 bytes  TEMP  #3";
                site = "b.c:2";
            }
            expected.append("  ").append(hex(u)).append("  ").append(line).append("  at ").append(site).append('\n');
        }
        expected.append("by site:\n"); // the most bytes first
        expected.append("  a.c:1: 2 blocks, 300 bytes\n").append("  b.c:2: 1 block, 50 bytes\n");
        expected.append("total: 3 live blocks, 350 bytes\n");
        assertEquals(expected.toString(), live.text());
    }

    @Test
    void shouldShowACallStackOneFrameALineBySite() {
        mode(Tracking.LEAKS);
        int stack = SiteTable.stackSite(5);
        tracker.sites().nameStacksWith(id -> id == 5
            ? SiteTable.stackName(List.of("spawn (units.cc:40)", "load_level (level.cc:12)", "main (main.cc:9)"), null, 0) : null);
        long a = block(64, 0, 0, stack);
        String report = live.text();
        assertTrue(report.contains("  " + hex(a) + "  64 bytes  NORMAL  #1  at spawn (units.cc:40) <- load_level (level.cc:12)"
            + " <- main (main.cc:9)\n"), report);
        assertTrue(report.contains("by site:\n  spawn (units.cc:40): 1 block, 64 bytes\n      from load_level (level.cc:12)\n"
            + "      from main (main.cc:9)\n"), report);
        assertEquals("(unknown stack #6)", tracker.sites().nameOf(SiteTable.stackSite(6)));
    }

    @Test
    void shouldWriteAnEmptyOrSingleBlockReportInTheRightNumber() {
        mode(Tracking.DEBUG);
        assertEquals("platform-memory leak report (backend system, tracking debug)\ntotal: 0 live blocks, 0 bytes\n",
            live.text());
        long a = block(7, 0, 0, tracker.siteId("x.c", 9));
        assertEquals("platform-memory leak report (backend system, tracking debug)\n"
            + "  " + hex(a) + "  7 bytes  NORMAL  #1  at x.c:9\n"
            + "by site:\n  x.c:9: 1 block, 7 bytes\n"
            + "total: 1 live block, 7 bytes\n", live.text());
    }
}
