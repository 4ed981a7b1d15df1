package org.platformmemory.api.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.platformmemory.api.Allocator;
import org.platformmemory.api.ErrorCode;
import org.platformmemory.api.MemoryFlags;
import org.platformmemory.api.Tracking;
import org.platformmemory.api.contract.BlockPattern;
import org.platformmemory.api.contract.RecordingErrorHandler;
import org.platformmemory.api.kit.NativeMemory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrackerTest {

    private static final byte JUNK = 0x55;

    private final Allocator libc = new SystemAllocator();
    private final List<Long> taken = new ArrayList<>();
    private final ErrorReporter errors = new ErrorReporter();
    private final RecordingErrorHandler handler = new RecordingErrorHandler();

    @BeforeEach
    void listen() {
        errors.setHandler(handler);
    }

    @AfterEach
    void giveBack() {
        taken.forEach(base -> libc.free(base, 0, Allocator.MIN_ALIGNMENT));
    }

    /**
     * Memory laid out as {@code header} wants for a block of up to {@code capacity} bytes and 16 bytes of
     * slack after it, all 0x55, core header written.
     */
    private long block(BlockHeader header, long size, long capacity) {
        long total = header.overheadFor(Allocator.MIN_ALIGNMENT) + capacity + 16;
        long base = libc.allocate(total, Allocator.MIN_ALIGNMENT);
        taken.add(base);
        NativeMemory.fill(base, total, JUNK);
        long user = base + header.offsetFor(Allocator.MIN_ALIGNMENT);
        header.write(user, size, 0, BlockPlacement.MIN_ALIGNMENT_LOG2, 0, 0);
        return user;
    }

    @Test
    void countersShouldZeroOnlyAClearBlockAndRecordNoSite() {
        BlockHeader header = new BlockHeader(Tracking.COUNTERS);
        Tracker tracker = Tracker.of(Tracking.COUNTERS, header, errors);
        long cleared = block(header, 100, 100);
        long plain = block(header, 100, 100);
        tracker.onAllocate(cleared, 100, MemoryFlags.CLEAR, SiteTable.NONE);
        tracker.onAllocate(plain, 100, MemoryFlags.TEMP, tracker.siteId("game.c", 3));
        assertTrue(BlockPattern.allBytes(cleared, 100, (byte) 0));
        assertEquals(JUNK, NativeMemory.getByte(cleared + 100), "not a byte past the block");
        assertTrue(BlockPattern.allBytes(plain, 101, JUNK), "no fill outside debug mode");
        assertEquals(SiteTable.NOT_RECORDED, tracker.siteOf(plain));
        assertEquals(100, header.size(plain), "the core header is not the tracker's");
    }

    @Test
    void countersShouldZeroOnlyTheTailAClearResizeAddsToABlock() {
        BlockHeader header = new BlockHeader(Tracking.COUNTERS);
        Tracker tracker = Tracker.of(Tracking.COUNTERS, header, errors);
        long user = block(header, 32, 96);
        tracker.onResize(user, 32, 64, MemoryFlags.CLEAR);
        assertTrue(BlockPattern.allBytes(user, 32, JUNK), "the old bytes are kept");
        assertTrue(BlockPattern.allBytes(user + 32, 32, (byte) 0));
        assertTrue(BlockPattern.allBytes(user + 64, 32, JUNK));
        tracker.onResize(user, 64, 96, 0);
        assertTrue(BlockPattern.allBytes(user + 64, 32, JUNK), "without CLEAR the tail is left as it is");
        tracker.onResize(user, 64, 16, MemoryFlags.CLEAR);
        assertTrue(BlockPattern.allBytes(user, 32, JUNK), "a shrink zeroes nothing");
        assertEquals(0, tracker.checkAll(new LiveBlockSet(1)));
    }

    @Test
    void leaksShouldRecordTheGivenSiteOrTheJavaCallersFrame() {
        BlockHeader header = new BlockHeader(Tracking.LEAKS);
        Tracker tracker = Tracker.of(Tracking.LEAKS, header, errors);
        int game = tracker.siteId("game.c", 42);
        assertEquals(game, tracker.siteId("game.c", 42), "a site is interned once");
        long fromC = block(header, 48, 48);
        long noLine = block(header, 48, 48);
        long anonymous = block(header, 48, 48);
        long fromJava = block(header, 48, 48);
        tracker.onAllocate(fromC, 48, 0, game);
        tracker.onAllocate(noLine, 48, 0, tracker.siteId("level.c", 0));
        tracker.onAllocate(anonymous, 48, 0, tracker.siteId(null, 99));
        tracker.onAllocate(fromJava, 48, 0, SiteTable.NONE);
        assertEquals("game.c:42", tracker.siteOf(fromC));
        assertEquals("level.c", tracker.siteOf(noLine));
        assertEquals("(C caller, no file:line)", tracker.siteOf(anonymous));
        String frame = tracker.siteOf(fromJava);
        assertNotEquals(SiteTable.NOT_RECORDED, frame);
        assertFalse(frame.startsWith(Tracker.class.getPackageName() + "."), "the rooms are skipped: " + frame);
        assertTrue(BlockPattern.allBytes(fromJava, 64, JUNK), "no fill, no guard outside debug mode");
        assertEquals(48, header.size(fromC), "the site does not overwrite the core header");
        assertTrue(header.intact(fromC, header.word0(fromC), header.word1(fromC)));
    }

    @Test
    void debugShouldFillANewBlockWithCdBetweenFdGuardsOrZeroItWhenCleared() {
        BlockHeader header = new BlockHeader(Tracking.DEBUG);
        Tracker tracker = Tracker.of(Tracking.DEBUG, header, errors);
        long plain = block(header, 40, 40);
        long cleared = block(header, 40, 40);
        tracker.onAllocate(plain, 40, 0, tracker.siteId("a.c", 1));
        tracker.onAllocate(cleared, 40, MemoryFlags.CLEAR, tracker.siteId("a.c", 2));
        for (long user : new long[] {plain, cleared}) {
            assertTrue(BlockPattern.allBytes(user - BlockHeader.GUARD, BlockHeader.GUARD, BlockHeader.FILL_GUARD));
            assertTrue(BlockPattern.allBytes(user + 40, BlockHeader.GUARD, BlockHeader.FILL_GUARD));
            assertTrue(header.intact(user, header.word0(user), header.word1(user)), "the guards leave the header alone");
        }
        assertTrue(BlockPattern.allBytes(plain, 40, BlockHeader.FILL_NEW));
        assertTrue(BlockPattern.allBytes(cleared, 40, (byte) 0));
        assertEquals("a.c:2", tracker.siteOf(cleared));
        tracker.beforeRelease(plain, 40, "free");
        assertEquals(List.of(), handler.reports(), "intact guards are not reported");
    }

    @Test
    void debugShouldReportAnOverrunAtItsExactByteAndFillTheFreedBlockWithDd() {
        BlockHeader header = new BlockHeader(Tracking.DEBUG);
        Tracker tracker = Tracker.of(Tracking.DEBUG, header, errors);
        long user = block(header, 40, 40);
        tracker.onAllocate(user, 40, 0, tracker.siteId("a.c", 1));
        BlockPattern.poke(user + 45, (byte) 0);
        tracker.beforeRelease(user, 40, "free");
        assertEquals(List.of(new RecordingErrorHandler.Report(ErrorCode.GUARD_CORRUPTED, "free: block "
            + ErrorReporter.hex(user) + " (40 bytes): the guard after it was overwritten at byte 45 (buffer overrun)", user)),
            handler.reports());
        assertTrue(BlockPattern.allBytes(user - BlockHeader.GUARD, 40 + 2 * BlockHeader.GUARD, BlockHeader.FILL_FREED),
            "block and both guards are 0xDD");
        assertEquals(JUNK, NativeMemory.getByte(user + 40 + BlockHeader.GUARD), "not a byte past the back guard");
    }

    @Test
    void debugShouldReportAnUnderrunBeforeAResizeOrADiscardAndChangeNothing() {
        BlockHeader header = new BlockHeader(Tracking.DEBUG);
        Tracker tracker = Tracker.of(Tracking.DEBUG, header, errors);
        long user = block(header, 40, 40);
        tracker.onAllocate(user, 40, 0, tracker.siteId("a.c", 1));
        BlockPattern.poke(user - 3, (byte) 0x41);
        tracker.beforeResize(user, 40);
        assertEquals(ErrorCode.GUARD_CORRUPTED, handler.last().error());
        assertEquals(user, handler.last().address());
        assertEquals("reallocate: block " + ErrorReporter.hex(user)
            + " (40 bytes): the guard before it was overwritten at byte -3 (buffer underrun)", handler.last().message());
        tracker.beforeDiscard(user, 40, "destroyHeap");
        assertTrue(handler.last().message().startsWith("destroyHeap: block "));
        assertEquals(2, handler.reports().size());
        assertTrue(BlockPattern.allBytes(user, 40, BlockHeader.FILL_NEW), "checking fills nothing");
        assertEquals(0x41, NativeMemory.getByte(user - 3));
    }

    @Test
    void debugShouldFillTheGrownTailAndMoveTheBackGuardOnResize() {
        BlockHeader header = new BlockHeader(Tracking.DEBUG);
        Tracker tracker = Tracker.of(Tracking.DEBUG, header, errors);
        long user = block(header, 64, 128);
        tracker.onAllocate(user, 64, 0, tracker.siteId("a.c", 1));
        BlockPattern.fill(user, 64, 9);
        tracker.onResize(user, 64, 96, 0);
        assertTrue(BlockPattern.holds(user, 64, 9));
        assertTrue(BlockPattern.allBytes(user + 64, 32, BlockHeader.FILL_NEW));
        assertTrue(BlockPattern.allBytes(user + 96, BlockHeader.GUARD, BlockHeader.FILL_GUARD));
        tracker.onResize(user, 96, 32, MemoryFlags.CLEAR);
        assertTrue(BlockPattern.holds(user, 32, 9), "a shrink keeps the bytes it keeps");
        assertTrue(BlockPattern.allBytes(user + 32, BlockHeader.GUARD, BlockHeader.FILL_GUARD));
        tracker.onResize(user, 32, 48, MemoryFlags.CLEAR);
        assertTrue(BlockPattern.allBytes(user + 32, 16, (byte) 0), "CLEAR zeroes the grown tail, over the old guard");
        assertTrue(BlockPattern.allBytes(user + 48, BlockHeader.GUARD, BlockHeader.FILL_GUARD));
        tracker.beforeResize(user, 48);
        assertEquals(List.of(), handler.reports());
    }

    @Test
    void debugShouldReportEachDamagedLiveBlockOnceWhenCheckingAll() {
        BlockHeader header = new BlockHeader(Tracking.DEBUG);
        Tracker tracker = Tracker.of(Tracking.DEBUG, header, errors);
        LiveBlockSet blocks = new LiveBlockSet(4);
        long intact = block(header, 24, 24);
        long overrun = block(header, 24, 24);
        long underrun = block(header, 24, 24);
        for (long user : new long[] {intact, overrun, underrun}) {
            tracker.onAllocate(user, 24, 0, tracker.siteId("a.c", 1));
            blocks.add(user, LiveBlockSet.NONE);
        }
        BlockPattern.poke(overrun + 24 + 15, (byte) 0);
        BlockPattern.poke(underrun - 16, (byte) 0);
        assertEquals(2, tracker.checkAll(blocks));
        assertEquals(Set.of(overrun, underrun), handler.reports().stream()
            .map(RecordingErrorHandler.Report::address).collect(Collectors.toSet()));
        assertTrue(handler.reports().stream().allMatch(r -> r.error() == ErrorCode.GUARD_CORRUPTED
            && r.message().startsWith("check: ")));
        assertTrue(handler.reports().stream().anyMatch(r -> r.message().endsWith("at byte 39 (buffer overrun)")));
        assertTrue(handler.reports().stream().anyMatch(r -> r.message().endsWith("at byte -16 (buffer underrun)")));
        assertEquals(3, blocks.size(), "checking frees nothing");
        assertEquals(0, Tracker.of(Tracking.COUNTERS, header, errors).checkAll(blocks), "only debug mode checks");
        assertEquals(0, Tracker.of(Tracking.LEAKS, header, errors).checkAll(blocks));
        assertEquals(2, handler.reports().size());
    }

    @Test
    void debugShouldReportADamageOnceAcrossChecksAndTheFreeThatFollows() {
        BlockHeader header = new BlockHeader(Tracking.DEBUG);
        Tracker tracker = Tracker.of(Tracking.DEBUG, header, errors);
        LiveBlockSet blocks = new LiveBlockSet(4);
        long user = block(header, 24, 24);
        tracker.onAllocate(user, 24, 0, tracker.siteId("a.c", 1));
        blocks.add(user, LiveBlockSet.NONE);
        BlockPattern.poke(user + 24, (byte) 0);
        assertEquals(1, tracker.checkAll(blocks));
        assertEquals(0, tracker.checkAll(blocks), "the guard was mended after its report");
        tracker.beforeRelease(user, 24, "free");
        assertEquals(1, handler.reports().size(), "and the free finds nothing more: " + handler.reports());
    }

    @Test
    void leaksShouldNumberBlocksInOrderAndBreakAtTheNamedOne() {
        BlockHeader header = new BlockHeader(Tracking.LEAKS);
        Tracker tracker = Tracker.of(Tracking.LEAKS, header, errors);
        tracker.breakAt(3);
        long[] users = new long[4];
        for (int i = 0; i < users.length; i++) {
            users[i] = block(header, 8, 8);
            tracker.onAllocate(users[i], 8, 0, tracker.siteId("n.c", i + 1));
        }
        for (int i = 0; i < users.length; i++) {
            assertEquals(i + 1, tracker.numberOf(users[i]));
            assertEquals("n.c:" + (i + 1), tracker.siteOf(users[i]), "the number leaves the site alone");
        }
        assertEquals(4, tracker.allocations());
        assertEquals(List.of(ErrorCode.BREAK_ALLOC), handler.errors());
        assertEquals(users[2], handler.last().address());
        assertTrue(handler.last().message().startsWith("allocation #3 (8 bytes"), handler.last().message());
        assertEquals(0, Tracker.of(Tracking.COUNTERS, new BlockHeader(Tracking.COUNTERS), errors).allocations(),
            "counters numbers nothing");
    }

    @Test
    void debugShouldKeepTheSiteOfTheFreeBesideTheAllocationsAfterTheFill() {
        BlockHeader header = new BlockHeader(Tracking.DEBUG);
        Tracker tracker = Tracker.of(Tracking.DEBUG, header, errors);
        long user = block(header, 40, 40);
        tracker.onAllocate(user, 40, 0, tracker.siteId("alloc.c", 5));
        tracker.freeingAt(tracker.siteId("free.c", 9));
        tracker.beforeRelease(user, 40, "free");
        assertEquals("alloc.c:5", tracker.siteOf(user));
        assertEquals("free.c:9", tracker.freeSiteOf(user));
        assertEquals(1, tracker.numberOf(user));
        long java = block(header, 40, 40);
        tracker.onAllocate(java, 40, 0, tracker.siteId("alloc.c", 6));
        tracker.beforeRelease(java, 40, "free");
        // this test sits in the facade's own package, whose frames a Java caller's site skips: the frame
        // named is the first outside it, and never the C site the earlier free had set
        assertNotEquals("free.c:9", tracker.freeSiteOf(java));
        assertTrue(tracker.freeSiteOf(java).contains("("), tracker.freeSiteOf(java));
    }

    @Test
    void debugShouldCheckTheHeapEveryNCallsButNeverInsideItself() {
        BlockHeader header = new BlockHeader(Tracking.DEBUG);
        Tracker tracker = Tracker.of(Tracking.DEBUG, header, errors);
        int[] checks = {0};
        tracker.checkEvery(4, () -> {
            checks[0]++;
            long nested = block(header, 8, 8);
            for (int i = 0; i < 8; i++) {
                tracker.onAllocate(nested, 8, 0, SiteTable.NONE); // calls made by a handler: no check inside a check
            }
        });
        for (int i = 0; i < 10; i++) {
            long user = block(header, 8, 8);
            tracker.onAllocate(user, 8, 0, SiteTable.NONE);
        }
        // calls 4 and 8 are the outer ones' (the nested ones count too: 4, then 12 and later ones run while checking)
        assertTrue(checks[0] >= 1 && checks[0] <= 3, "checks: " + checks[0]);
        tracker.checkEvery(0, () -> checks[0] += 100);
        long user = block(header, 8, 8);
        tracker.onAllocate(user, 8, 0, SiteTable.NONE);
        assertTrue(checks[0] < 100, "0 turns it off");
    }

    @Test
    void countersWithSamplesShouldKeepOnlyBlocksGivenASiteUntilTheyAreFreedOrMoved() {
        BlockHeader header = new BlockHeader(Tracking.COUNTERS);
        SampledBlocks samples = new SampledBlocks(1000);
        Tracker tracker = Tracker.of(Tracking.COUNTERS, header, errors, samples);
        long plain = block(header, 100, 100);
        long sampled = block(header, 100, 100);
        tracker.onAllocate(plain, 100, 0, SiteTable.NONE);
        tracker.onAllocate(sampled, 100, 0, SiteTable.stackSite(7));
        assertEquals(1, samples.size());
        double w = samples.weight(100);
        assertEquals(100 / -Math.expm1(-0.1), w, 1e-9);
        assertEquals(w, samples.bySite().get(SiteTable.stackSite(7))[0], 1e-9);
        tracker.onMoved(sampled, plain, 100);
        tracker.beforeRelease(sampled, 100, "free");
        assertEquals(1, samples.size(), "the move carried it");
        tracker.beforeRelease(plain, 100, "free");
        assertEquals(0, samples.size());
    }
}
