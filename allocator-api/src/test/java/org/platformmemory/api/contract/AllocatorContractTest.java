package org.platformmemory.api.contract;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.platformmemory.api.Allocator;
import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.ErrorCode;
import org.platformmemory.api.LiveBlock;
import org.platformmemory.api.MemoryFlags;
import org.platformmemory.api.MemoryStats;
import org.platformmemory.api.PrivateHeap;
import org.platformmemory.api.Tracking;
import org.platformmemory.api.TrackedAllocator;
import org.platformmemory.api.kit.Pages;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The contract every backend passes, through the facade the C ABI uses. A backend module subclasses it
 * and names its backend; nothing here knows which backend it is testing.
 */
public abstract class AllocatorContractTest extends BackendUnderTest {

    private static final long MIB = 1 << 20;
    private static final long[] SIZES = {
        1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 96, 100, 127, 128, 129, 255, 256, 257, 500, 512,
        1000, 1024, 2047, 2048, 4095, 4096, 4097, 8191, 8192, 10000, 32768, 65535, 65536, 65537, 100_000,
        262_144, MIB - 1, MIB, MIB + 1, 4 * MIB, 16 * MIB, 64 * MIB};

    private TrackedAllocator memory;
    private RecordingErrorHandler errors;

    @BeforeEach
    void openFacade() {
        memory = open();
        errors = new RecordingErrorHandler();
        memory.setErrorHandler(errors);
    }

    @AfterEach
    void closeFacade() {
        memory.close();
    }

    private TrackedAllocator reopen(Map<String, String> settings) {
        memory.close();
        memory = open(settings);
        memory.setErrorHandler(errors);
        return memory;
    }

    private void assertStats(long liveBytes, long liveBlocks, long allocations, long frees, long reallocs,
                             long failed, long callerErrors) {
        MemoryStats s = memory.stats();
        assertEquals(liveBytes, s.liveBytes(), "live bytes");
        assertEquals(liveBlocks, s.liveBlocks(), "live blocks");
        assertEquals(allocations, s.allocations(), "allocations");
        assertEquals(frees, s.frees(), "frees");
        assertEquals(reallocs, s.reallocations(), "reallocations");
        assertEquals(failed, s.failedAllocations(), "failed allocations");
        assertEquals(callerErrors, s.callerErrors(), "caller errors");
    }

    // ---------------------------------------------------------------------------------------------
    // Sizes, alignment, zeroing

    @Test
    void shouldHandOutEverySizeFromOneByteTo64MiBAlignedTo16AndDisjoint() {
        long[] blocks = new long[SIZES.length];
        for (int i = 0; i < SIZES.length; i++) {
            blocks[i] = memory.allocate(SIZES[i], MemoryFlags.NORMAL);
            assertNotEquals(0, blocks[i], "allocate(" + SIZES[i] + ")");
            assertEquals(0, blocks[i] % 16, "16-byte alignment of a " + SIZES[i] + "-byte block");
            assertEquals(SIZES[i], memory.sizeOf(blocks[i]));
            BlockPattern.fill(blocks[i], SIZES[i], i);
        }
        for (int i = 0; i < SIZES.length; i++) {
            assertTrue(BlockPattern.holds(blocks[i], SIZES[i], i), "block of " + SIZES[i] + " bytes kept its contents");
        }
        long total = 0;
        for (long s : SIZES) {
            total += s;
        }
        assertStats(total, SIZES.length, SIZES.length, 0, 0, 0, 0);
        assertEquals(total, memory.peakBytes());
        for (long block : blocks) {
            memory.free(block, 0);
        }
        assertStats(0, 0, SIZES.length, SIZES.length, 0, 0, 0);
        assertEquals(total, memory.peakBytes(), "peak stays after frees");
    }

    @Test
    void shouldHonourEveryPowerOfTwoAlignmentUpTo2MiB() {
        List<long[]> live = new ArrayList<>();
        for (long align = 1; align <= 2 * MIB; align <<= 1) {
            for (long size : new long[] {1, 24, 100, align, 3 * align + 5}) {
                long p = memory.allocate(size, MemoryFlags.NORMAL, align);
                assertNotEquals(0, p, "allocate(" + size + ", align " + align + ")");
                assertEquals(0, p % Math.max(16, align), "address " + p + " aligned to " + align);
                BlockPattern.fill(p, size, align + size);
                live.add(new long[] {p, size, align + size});
            }
        }
        for (long[] b : live) {
            assertTrue(BlockPattern.holds(b[0], b[1], b[2]));
            long moved = memory.reallocate(b[0], b[1], b[1] * 2 + 7);
            assertNotEquals(0, moved);
            assertTrue(BlockPattern.holds(moved, b[1], b[2]), "realloc kept an aligned block's contents");
            memory.free(moved, 0);
        }
        assertEquals(0, memory.liveBytes());
        assertTrue(errors.reports().isEmpty(), () -> "no errors: " + errors.reports());
    }

    @Test
    void shouldGiveTheBackendWellFormedRequestsItAlignsItself() {
        try (CountingAllocator backend = countingBackend()) {
            for (long align = Allocator.MIN_ALIGNMENT; align <= MIB; align <<= 1) {
                long p = backend.allocate(100, align);
                assertNotEquals(0, p);
                assertEquals(0, p % align, "backend alignment " + align);
                backend.free(p, 100, align);
            }
            assertEquals(0, backend.outstandingBytes());
        }
    }

    @Test
    void shouldZeroClearedBlocksEvenWhenMemoryIsReused() {
        List<long[]> dirty = new ArrayList<>();
        for (long size : SIZES) {
            if (size > 4 * MIB) {
                continue;
            }
            long p = memory.allocate(size, MemoryFlags.NORMAL);
            BlockPattern.fill(p, size, size);
            dirty.add(new long[] {p, size});
        }
        for (long[] b : dirty) {
            memory.free(b[0], b[1]);
        }
        for (long size : SIZES) {
            long p = memory.allocate(size, MemoryFlags.CLEAR | MemoryFlags.TEMP);
            assertNotEquals(0, p);
            assertTrue(BlockPattern.allBytes(p, size, (byte) 0), "CLEAR zeroed " + size + " bytes");
            memory.free(p, 0);
        }
    }

    @Test
    void shouldMapABigBlockWithoutMakingItResidentClearedOrNot() {
        long size = 512 * MIB;
        for (long alignment : new long[] {Allocator.MIN_ALIGNMENT, Pages.SIZE}) {
            for (int flags : new int[] {MemoryFlags.NORMAL, MemoryFlags.CLEAR}) {
                String what = MemoryFlags.describe(flags) + " at " + alignment;
                long p = memory.allocate(size, flags, alignment);
                assertNotEquals(0, p, what);
                long base = p & -Pages.SIZE;
                long span = Pages.roundUp(p + size - base);
                // before any read: a page only read maps the shared zero page, which mincore counts
                assertTrue(Pages.resident(base, span) <= 4 * MIB, what + ": " + Pages.resident(base, span) + " resident");
                if (flags == MemoryFlags.CLEAR) {
                    assertTrue(BlockPattern.allBytes(p, size, (byte) 0), what + " reads as zero");
                }
                Pages.touch(base + Pages.SIZE, size / 2);
                long resident = Pages.resident(base, span);
                assertTrue(resident >= size / 2 && resident <= size / 2 + 4 * MIB + (flags == MemoryFlags.CLEAR ? size : 0),
                    what + ": touching half made " + resident + " resident");
                memory.free(p, size);
            }
        }
    }

    @Test
    void shouldDiscardTheWholePagesOfARangeAndZeroItsEdges() {
        for (long size : new long[] {200, 8 * MIB}) {
            long p = memory.allocate(size, MemoryFlags.NORMAL);
            BlockPattern.fill(p, size, 5);
            MemoryStats before = memory.stats();
            long from = size > MIB ? Pages.SIZE + 100 : 10;
            long length = size > MIB ? 4 * MIB : 100;
            long residentBefore = Pages.resident(p & -Pages.SIZE, Pages.roundUp(size + Pages.SIZE));
            assertTrue(memory.discard(p, from, length), size + " bytes");
            if (size > MIB) { // read before any byte of the range is: a read maps the shared zero page
                long given = residentBefore - Pages.resident(p & -Pages.SIZE, Pages.roundUp(size + Pages.SIZE));
                assertTrue(given >= length - 2 * Pages.SIZE, "the range's whole pages went back: " + given);
            }
            assertTrue(BlockPattern.allBytes(p + from, length, (byte) 0), "the range reads as zero");
            assertTrue(BlockPattern.holdsRange(p, 0, from, size, 5), "the bytes before it are kept");
            assertTrue(BlockPattern.holdsRange(p, from + length, size, size, 5), "and after it");
            assertEquals(size, memory.sizeOf(p), "the block stays live");
            assertEquals(before.liveBytes(), memory.liveBytes());
            assertEquals(before.allocations(), memory.allocations());
            assertTrue(memory.discard(p, size, 0), "an empty range at the end");
            memory.free(p, size);
        }
    }

    @Test
    void shouldRefuseADiscardOutsideALiveBlockAndTouchNothing() {
        long[][] canaries = liveCanaries();
        long p = memory.allocate(300, MemoryFlags.NORMAL);
        BlockPattern.fill(p, 300, 9);
        long[][] outside = {{290, 11}, {301, 0}, {-1, 2}, {0, -1}, {Long.MIN_VALUE, Long.MIN_VALUE}};
        for (long[] range : outside) {
            long before = memory.callerErrors();
            assertFalse(memory.discard(p, range[0], range[1]), range[0] + "+" + range[1]);
            assertOneError(ErrorCode.SIZE_MISMATCH, before);
        }
        assertTrue(BlockPattern.holds(p, 300, 9), "nothing was touched");
        long before = memory.callerErrors();
        assertFalse(memory.discard(p + 16, 0, 8));
        assertOneError(ErrorCode.INTERIOR_POINTER, before);
        assertFalse(memory.discard(0x7f00_dead_bee0L, 0, 8));
        assertOneError(ErrorCode.INVALID_POINTER, before + 1);
        memory.free(p, 300);
        assertFalse(memory.discard(p, 0, 8));
        assertOneError(ErrorCode.DOUBLE_FREE, before + 2);
        assertIntact(canaries);
    }

    @Test
    void shouldKeepLiveBlocksAndServeNewOnesAfterATrim() {
        long kept = memory.allocate(5000, MemoryFlags.NORMAL);
        BlockPattern.fill(kept, 5000, 3);
        long[] blocks = new long[20_000];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = memory.allocate(i % 50 == 0 ? 300_000 : 16 + i % 500, MemoryFlags.NORMAL);
        }
        for (long b : blocks) {
            memory.free(b, 0);
        }
        memory.trim();
        assertEquals(5000, memory.sizeOf(kept));
        assertTrue(BlockPattern.holds(kept, 5000, 3), "a live block keeps its bytes");
        long again = memory.allocate(64, MemoryFlags.CLEAR);
        assertTrue(again != 0 && BlockPattern.allBytes(again, 64, (byte) 0));
        memory.free(again, 64);
        memory.free(kept, 5000);
        assertStats(0, 0, blocks.length + 2, blocks.length + 2, 0, 0, 0);
    }

    @Test
    void shouldKeepContentsWhenReallocGrowsAndShrinks() {
        long p = memory.allocate(100, MemoryFlags.NORMAL);
        BlockPattern.fill(p, 100, 7);
        p = memory.reallocate(p, 100, 10_000);
        assertNotEquals(0, p);
        assertTrue(BlockPattern.holds(p, 100, 7), "grow keeps the old bytes");
        assertEquals(10_000, memory.sizeOf(p));
        BlockPattern.fill(p, 10_000, 8);
        p = memory.reallocate(p, 0, 8 * MIB);
        assertTrue(BlockPattern.holds(p, 10_000, 8), "grow to a huge block keeps the old bytes");
        p = memory.reallocate(p, 8 * MIB, 50);
        assertNotEquals(0, p);
        assertTrue(BlockPattern.holds(p, 50, 10_000, 8), "shrink keeps the first bytes");
        assertEquals(50, memory.sizeOf(p));
        assertStats(50, 1, 1, 0, 3, 0, 0);
        assertEquals(8 * MIB, memory.peakBytes());
        long q = memory.reallocate(p, 50, 4096, MemoryFlags.CLEAR);
        assertTrue(BlockPattern.holds(q, 50, 10_000, 8));
        assertTrue(BlockPattern.allBytes(q + 50, 4096 - 50, (byte) 0), "CLEAR on realloc zeroes the grown tail");
        memory.free(q, 4096);
        assertStats(0, 0, 1, 1, 4, 0, 0);
    }

    @Test
    void shouldTreatSizeZeroAsUnknownAndNullAsNothing() {
        assertEquals(0, memory.allocate(0, MemoryFlags.NORMAL), "size 0 returns NULL");
        memory.free(0, 0);
        memory.free(0, 123);
        long p = memory.reallocate(0, 0, 64);
        assertNotEquals(0, p, "realloc(NULL) allocates");
        BlockPattern.fill(p, 64, 1);
        long q = memory.reallocate(p, 0, 128);
        assertTrue(BlockPattern.holds(q, 64, 1));
        assertEquals(0, memory.reallocate(q, 0, 0), "realloc to 0 frees");
        assertStats(0, 0, 1, 1, 1, 0, 0);
        assertEquals(0, memory.sizeOf(q));
        assertTrue(errors.reports().isEmpty(), () -> "no errors: " + errors.reports());
    }

    @Test
    void shouldKeepExactStatisticsAfterEveryStep() {
        long a = memory.allocate(100, MemoryFlags.NORMAL);
        assertStats(100, 1, 1, 0, 0, 0, 0);
        long b = memory.allocate(1000, MemoryFlags.CLEAR);
        assertStats(1100, 2, 2, 0, 0, 0, 0);
        b = memory.reallocate(b, 1000, 3000);
        assertStats(3100, 2, 2, 0, 1, 0, 0);
        assertEquals(3100, memory.peakBytes());
        memory.free(a, 100);
        assertStats(3000, 1, 2, 1, 1, 0, 0);
        b = memory.reallocate(b, 0, 10);
        assertStats(10, 1, 2, 1, 2, 0, 0);
        memory.free(b, 0);
        assertStats(0, 0, 2, 2, 2, 0, 0);
        assertEquals(3100, memory.peakBytes());
    }

    @Test
    void shouldRefuseAllocationsBeyondTheLimitAndMakeRoomAgainOnFree() {
        reopen(Map.of(AllocatorConfig.LIMIT, "1m"));
        assertEquals(MIB, memory.limit());
        long a = memory.allocate(600_000, MemoryFlags.NORMAL);
        assertNotEquals(0, a);
        assertEquals(MIB - 600_000, memory.ramFree());
        assertEquals(MIB, memory.ramTotal());
        assertEquals(0, memory.allocate(600_000, MemoryFlags.NORMAL), "beyond the budget");
        assertStats(600_000, 1, 1, 0, 0, 1, 0);
        assertEquals(ErrorCode.ALLOCATION_FAILED, errors.last().error());
        BlockPattern.fill(a, 600_000, 3);
        assertEquals(0, memory.reallocate(a, 0, MIB + 1), "realloc beyond the budget fails");
        assertTrue(BlockPattern.holds(a, 600_000, 3), "the old block is intact after a failed realloc");
        assertEquals(600_000, memory.sizeOf(a));
        assertStats(600_000, 1, 1, 0, 0, 2, 0);
        memory.free(a, 0);
        long b = memory.allocate(MIB, MemoryFlags.NORMAL);
        assertNotEquals(0, b, "the whole budget is usable once freed");
        assertEquals(0, memory.ramFree());
        memory.free(b, MIB);
        assertStats(0, 0, 2, 2, 0, 2, 0);
    }

    @Test
    void shouldReportRealMemoryFiguresWithoutALimit() {
        long total = memory.ramTotal();
        long free = memory.ramFree();
        assertTrue(total > 64 * MIB, "total RAM " + total);
        assertTrue(free > 0 && free <= total, "free RAM " + free + " of " + total);
    }

    // ---------------------------------------------------------------------------------------------
    // Caller errors: each detected, counted, reported; live blocks intact

    /** Live blocks with patterns, to prove a bad call touched none of them. */
    private long[][] liveCanaries() {
        long[][] canaries = new long[8][];
        for (int i = 0; i < canaries.length; i++) {
            long size = 16L << i;
            long p = memory.allocate(size, MemoryFlags.NORMAL);
            BlockPattern.fill(p, size, 1000 + i);
            canaries[i] = new long[] {p, size, 1000 + i};
        }
        return canaries;
    }

    private void assertIntact(long[][] canaries) {
        for (long[] c : canaries) {
            assertTrue(BlockPattern.holds(c[0], c[1], c[2]), "live block " + c[0] + " untouched");
            assertEquals(c[1], memory.sizeOf(c[0]));
        }
        for (long[] c : canaries) {
            memory.free(c[0], c[1]);
        }
    }

    private void assertOneError(ErrorCode expected, long errorsBefore) {
        assertEquals(expected, errors.last().error(), () -> "reported: " + errors.reports());
        assertEquals(errorsBefore + 1, memory.callerErrors(), "caller errors counted");
        assertFalse(errors.last().message().isBlank());
    }

    @Test
    void shouldDetectADoubleFreeAndFreeNothingTwice() {
        long[][] canaries = liveCanaries();
        long p = memory.allocate(64, MemoryFlags.NORMAL);
        memory.free(p, 64);
        MemoryStats before = memory.stats();
        memory.free(p, 64);
        assertOneError(ErrorCode.DOUBLE_FREE, 0);
        assertEquals(before.liveBytes(), memory.liveBytes());
        assertEquals(before.frees(), memory.frees(), "the second free is not counted as a free");
        assertIntact(canaries);
        assertEquals(0, memory.liveBytes());
    }

    @Test
    void shouldDetectADoubleFreeOfAHugeBlockWhoseMemoryIsGone() {
        long p = memory.allocate(32 * MIB, MemoryFlags.NORMAL);
        memory.free(p, 0);
        memory.free(p, 0);
        assertOneError(ErrorCode.DOUBLE_FREE, 0);
        assertEquals(0, memory.liveBytes());
    }

    @Test
    void shouldRejectPointersItNeverHandedOut() {
        long[][] canaries = liveCanaries();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment foreign = arena.allocate(256, 16);
            long[] pointers = {foreign.address(), foreign.address() + 64, 0x10, 0x7f00_dead_bee0L, -16, 1};
            for (long bad : pointers) {
                long before = memory.callerErrors();
                memory.free(bad, 0);
                assertOneError(ErrorCode.INVALID_POINTER, before);
                assertEquals(0, memory.sizeOf(bad));
            }
        }
        assertEquals(8, memory.liveBlocks());
        assertIntact(canaries);
    }

    @Test
    void shouldRejectAnInteriorPointer() {
        long[][] canaries = liveCanaries();
        long p = memory.allocate(1000, MemoryFlags.NORMAL);
        BlockPattern.fill(p, 1000, 5);
        memory.free(p + 16, 0);
        assertOneError(ErrorCode.INTERIOR_POINTER, 0);
        assertTrue(errors.last().message().contains("16 bytes into"), errors.last().message());
        assertEquals(0, memory.reallocate(p + 512, 0, 2000));
        assertOneError(ErrorCode.INTERIOR_POINTER, 1);
        assertTrue(BlockPattern.holds(p, 1000, 5), "the block itself is untouched");
        memory.free(p, 1000);
        assertIntact(canaries);
        assertStats(0, 0, 9, 9, 0, 0, 2);
    }

    @Test
    void shouldUseTheRecordedSizeWhenTheCallerGivesAWrongOne() {
        long[][] canaries = liveCanaries();
        long p = memory.allocate(100, MemoryFlags.NORMAL);
        memory.free(p, 99);
        assertOneError(ErrorCode.SIZE_MISMATCH, 0);
        long q = memory.allocate(200, MemoryFlags.NORMAL);
        BlockPattern.fill(q, 200, 2);
        long r = memory.reallocate(q, 300, 400);
        assertOneError(ErrorCode.SIZE_MISMATCH, 1);
        assertTrue(BlockPattern.holds(r, 200, 2), "realloc copied the recorded 200 bytes");
        memory.free(r, 0);
        assertIntact(canaries);
        assertStats(0, 0, 10, 10, 1, 0, 2);
    }

    @Test
    void shouldRejectSizesThatOverflowOnceTheHeaderIsAdded() {
        long[][] canaries = liveCanaries();
        long sizeMax = -1L; // C's SIZE_MAX as a Java long
        long[] sizes = {sizeMax, Long.MAX_VALUE, Long.MAX_VALUE - 8, Long.MIN_VALUE, -4096};
        for (long size : sizes) {
            long before = memory.callerErrors();
            assertEquals(0, memory.allocate(size, MemoryFlags.NORMAL));
            assertOneError(ErrorCode.SIZE_OVERFLOW, before);
        }
        long p = memory.allocate(64, MemoryFlags.NORMAL);
        BlockPattern.fill(p, 64, 9);
        long before = memory.callerErrors();
        assertEquals(0, memory.reallocate(p, 64, sizeMax));
        assertOneError(ErrorCode.SIZE_OVERFLOW, before);
        assertTrue(BlockPattern.holds(p, 64, 9), "the block survives a failed realloc");
        assertEquals(64, memory.sizeOf(p));
        memory.free(p, 64);
        assertEquals(0, memory.allocate(Allocator.MAX_BLOCK_SIZE * 4, MemoryFlags.NORMAL), "impossible size");
        assertEquals(ErrorCode.ALLOCATION_FAILED, errors.last().error());
        assertIntact(canaries);
        assertEquals(0, memory.liveBytes());
        assertEquals(sizes.length + 2, memory.failedAllocations());
    }

    @Test
    void shouldRejectAlignmentsThatAreNotPowersOfTwo() {
        long[][] canaries = liveCanaries();
        long[] bad = {0, 3, 24, 48, 1000, -16, TrackedAllocator.MAX_ALIGNMENT * 2};
        for (long alignment : bad) {
            long before = memory.callerErrors();
            assertEquals(0, memory.allocate(64, MemoryFlags.NORMAL, alignment), "alignment " + alignment);
            assertOneError(ErrorCode.BAD_ALIGNMENT, before);
        }
        assertIntact(canaries);
        assertEquals(0, memory.liveBytes());
    }

    @Test
    void shouldRefuseToReallocAFreedBlock() {
        long[][] canaries = liveCanaries();
        long p = memory.allocate(64, MemoryFlags.NORMAL);
        memory.free(p, 0);
        assertEquals(0, memory.reallocate(p, 64, 128));
        assertOneError(ErrorCode.REALLOC_FREED, 0);
        assertEquals(0, memory.reallocate(0x7f00_dead_bee0L, 0, 128));
        assertOneError(ErrorCode.INVALID_POINTER, 1);
        assertIntact(canaries);
        assertStats(0, 0, 9, 9, 0, 0, 2);
    }

    @Test
    void shouldRefuseCallsAfterClose() {
        long p = memory.allocate(64, MemoryFlags.NORMAL);
        memory.close();
        assertEquals(0, memory.liveBytes(), "close freed the live block");
        assertEquals(0, memory.allocate(64, MemoryFlags.NORMAL));
        assertEquals(ErrorCode.CLOSED, errors.last().error());
        memory.free(p, 0);
        assertEquals(ErrorCode.CLOSED, errors.last().error());
        memory.close();
    }

    // ---------------------------------------------------------------------------------------------
    // Threads and lifecycle

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void shouldStayCorrectWhenThreadsAllocateAndFreeEachOthersBlocks() throws Exception {
        int threads = 4;
        int operations = 20_000;
        ConcurrentLinkedQueue<long[]> handoff = new ConcurrentLinkedQueue<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            workers.add(Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                    SplittableRandom random = new SplittableRandom(id);
                    List<long[]> mine = new ArrayList<>();
                    for (int i = 0; i < operations; i++) {
                        int op = random.nextInt(10);
                        if (op < 5 || mine.isEmpty()) {
                            long size = random.nextInt(8) == 0 ? random.nextLong(1, 70_000) : random.nextLong(1, 512);
                            long p = memory.allocate(size, MemoryFlags.NORMAL);
                            if (p == 0) {
                                throw new AssertionError("allocate(" + size + ") failed");
                            }
                            long seed = random.nextLong();
                            BlockPattern.fill(p, size, seed);
                            mine.add(new long[] {p, size, seed});
                        } else if (op < 7) {
                            long[] b = mine.remove(random.nextInt(mine.size()));
                            handoff.add(b); // another thread frees it
                        } else {
                            long[] b = op == 7 ? handoff.poll() : null;
                            if (b == null) {
                                b = mine.remove(random.nextInt(mine.size()));
                            }
                            if (!BlockPattern.holds(b[0], b[1], b[2])) {
                                throw new AssertionError("block " + b[0] + " was changed by someone else");
                            }
                            if (op == 9) {
                                long bigger = b[1] + random.nextLong(1, 4096);
                                long q = memory.reallocate(b[0], b[1], bigger);
                                if (q == 0 || !BlockPattern.holds(q, b[1], b[2])) {
                                    throw new AssertionError("realloc lost contents");
                                }
                                BlockPattern.fill(q, bigger, b[2]);
                                mine.add(new long[] {q, bigger, b[2]});
                            } else {
                                memory.free(b[0], b[1]);
                            }
                        }
                    }
                    for (long[] b : mine) {
                        if (!BlockPattern.holds(b[0], b[1], b[2])) {
                            throw new AssertionError("block " + b[0] + " was changed by someone else");
                        }
                        memory.free(b[0], 0);
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }));
        }
        start.countDown();
        for (Thread w : workers) {
            w.join();
        }
        if (failure.get() != null) {
            throw new AssertionError("a worker failed", failure.get());
        }
        for (long[] b : handoff) {
            assertTrue(BlockPattern.holds(b[0], b[1], b[2]));
            memory.free(b[0], b[1]);
        }
        assertEquals(0, memory.liveBytes());
        assertEquals(0, memory.liveBlocks());
        assertEquals(memory.allocations(), memory.frees());
        assertEquals(0, memory.callerErrors(), () -> "errors: " + errors.reports());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldNeverReportANegativeOrImpossibleCountWhileThreadsAllocate() throws Exception {
        long keep = memory.allocate(64, MemoryFlags.NORMAL);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            workers.add(Thread.ofPlatform().start(() -> {
                try {
                    while (System.nanoTime() < deadline) {
                        long p = memory.allocate(32, MemoryFlags.NORMAL);
                        p = memory.reallocate(p, 0, 96);
                        memory.free(p, 0);
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }));
        }
        long lowest = Long.MAX_VALUE;
        long highest = Long.MIN_VALUE;
        while (System.nanoTime() < deadline) {
            long live = memory.liveBlocks();
            MemoryStats s = memory.stats();
            lowest = Math.min(lowest, Math.min(live, s.liveBlocks()));
            highest = Math.max(highest, Math.max(live, s.liveBlocks()));
        }
        for (Thread w : workers) {
            w.join();
        }
        assertEquals(null, failure.get());
        assertTrue(lowest >= 1, "the block kept live is always counted; lowest seen " + lowest);
        // a block a worker is moving between two stripes of the live set may be seen in both
        assertTrue(highest <= 5, "never more than the kept block and two per worker; highest seen " + highest);
        memory.free(keep, 0);
        assertEquals(0, memory.liveBlocks());
    }

    @Test
    void shouldLendBatchesOfDisjointWritableBlocksAndTakeThemBack() {
        org.platformmemory.api.BlockSupply supply = memory.supply();
        assertTrue(supply.available(), "counters tracking without a limit lends");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment addresses = arena.allocate(8L * 600, 8);
            for (long size : new long[] {16, 48, 256, 1024, 8192}) {
                int lent = supply.lend(size, addresses.address(), 600); // more than one scratch batch
                assertEquals(600, lent, "size " + size);
                assertEquals(600 * size, supply.lentBytes());
                List<long[]> spans = new ArrayList<>();
                for (int i = 0; i < lent; i++) {
                    long user = addresses.getAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, i);
                    assertEquals(0, user % 16, "16-byte aligned");
                    MemorySegment block = MemorySegment.ofAddress(user - org.platformmemory.api.BlockSupply.HEADER_ROOM)
                        .reinterpret(size + org.platformmemory.api.BlockSupply.HEADER_ROOM);
                    block.fill((byte) i); // the header room and every byte are the borrower's
                    spans.add(new long[] {user - org.platformmemory.api.BlockSupply.HEADER_ROOM, user + size});
                }
                spans.sort((x, y) -> Long.compare(x[0], y[0]));
                for (int i = 1; i < spans.size(); i++) {
                    assertTrue(spans.get(i)[0] >= spans.get(i - 1)[1], "blocks of " + size + " overlap");
                }
                supply.takeBack(size, addresses.address(), lent);
                assertEquals(0, supply.lentBytes());
            }
        }
        assertStats(0, 0, 0, 0, 0, 0, 0);
        assertEquals(List.of(), errors.reports());
    }

    @Test
    void shouldGiveEveryBlockBackToTheBackendOnClose() {
        CountingAllocator backend = countingBackend();
        TrackedAllocator counted = openCounted(backend, Tracking.COUNTERS, 0);
        for (int i = 0; i < 100; i++) {
            assertNotEquals(0, counted.allocate(1 + i * 97L, MemoryFlags.NORMAL));
        }
        assertNotEquals(0, counted.allocate(3 * MIB, MemoryFlags.NORMAL, 4096));
        assertEquals(101, backend.outstandingBlocks());
        counted.close();
        assertEquals(0, backend.outstandingBlocks(), "every block went back to the backend");
        assertEquals(0, backend.outstandingBytes());
        assertTrue(backend.closed(), "the backend was closed");
        assertEquals(0, counted.liveBytes());
        assertEquals(101, counted.frees());
    }

    @Test
    void shouldNotAllocateOnTheJavaHeapPerCallInCountersMode() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long id = Thread.currentThread().threadId();
        long[] ptrs = new long[16];
        // the JIT needs a few rounds to compile the paths (and scalar-replace their temporaries); after that
        // a round of 200,000 calls must allocate nothing. On a loaded machine the compiler can be late,
        // so rounds go on (at least 15) until one is clean or 20 seconds have passed.
        double best = Double.MAX_VALUE;
        long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        for (int round = 0; best > 0.01 && (round < 15 || System.nanoTime() < giveUp); round++) {
            long before = threads.getThreadAllocatedBytes(id);
            for (int i = 0; i < 200_000; i++) {
                int slot = i & 15;
                if (ptrs[slot] != 0) {
                    memory.free(ptrs[slot], 0);
                }
                ptrs[slot] = memory.allocate(16 + (i & 255), (i & 7) == 0 ? MemoryFlags.CLEAR : MemoryFlags.NORMAL);
                if ((i & 31) == 0) {
                    ptrs[slot] = memory.reallocate(ptrs[slot], 0, 600);
                }
            }
            best = Math.min(best, (threads.getThreadAllocatedBytes(id) - before) / 200_000.0);
        }
        assertTrue(best <= 0.01, "Java heap bytes per call in the best round after warm-up: " + best);
        for (long p : ptrs) {
            memory.free(p, 0);
        }
        assertEquals(0, memory.liveBytes());
    }

    // ---------------------------------------------------------------------------------------------
    // Private heaps

    @Test
    void shouldFreeEveryBlockOfAHeapAtOnceAndLeaveOtherHeapsAlone() {
        long[][] canaries = liveCanaries();
        PrivateHeap level = memory.createHeap();
        PrivateHeap ui = memory.createHeap();
        assertTrue(level.id() > 0 && ui.id() > 0 && level.id() != ui.id());
        List<long[]> levelBlocks = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            long size = 1 + (i * 37L) % 5000;
            long p = level.allocate(size, i % 3 == 0 ? MemoryFlags.CLEAR : 0, 0);
            assertNotEquals(0, p);
            assertEquals(level.id(), memory.heapOf(p));
            BlockPattern.fill(p, size, i);
            levelBlocks.add(new long[] {p, size, i});
        }
        long big = level.allocate(3 * MIB, 0, 0);
        long kept = ui.allocate(1000, 0, 0);
        BlockPattern.fill(kept, 1000, 77);
        assertEquals(ui.id(), memory.heapOf(kept));
        assertEquals(0, memory.heapOf(canaries[0][0]));
        memory.free(levelBlocks.remove(0)[0], 0); // a heap block freed the ordinary way
        long[] moved = levelBlocks.remove(0);
        long grown = memory.reallocate(moved[0], 0, 20_000);
        assertTrue(BlockPattern.holds(grown, moved[1], moved[2]));
        assertEquals(level.id(), memory.heapOf(grown), "realloc keeps the block in its heap");
        assertFalse(ui.free(levelBlocks.get(0)[0]), "a block of another heap is refused");
        assertEquals(ErrorCode.INVALID_POINTER, errors.last().error());
        assertTrue(level.free(levelBlocks.remove(0)[0]));
        long liveBefore = memory.liveBlocks();
        for (long[] b : levelBlocks) {
            assertTrue(BlockPattern.holds(b[0], b[1], b[2]));
        }
        assertTrue(level.destroy());
        assertEquals(liveBefore - levelBlocks.size() - 2, memory.liveBlocks(), "destroy freed every block of the heap");
        assertEquals(-1, memory.heapOf(big));
        assertEquals(0, memory.sizeOf(levelBlocks.get(7)[0]));
        assertTrue(BlockPattern.holds(kept, 1000, 77), "the other heap's block is untouched");
        assertEquals(ui.id(), memory.heapOf(kept));
        assertFalse(level.destroy(), "destroying twice is refused");
        assertEquals(ErrorCode.INVALID_HEAP, errors.last().error());
        assertEquals(0, level.allocate(64, 0, 0));
        assertEquals(ErrorCode.INVALID_HEAP, errors.last().error());
        memory.free(levelBlocks.get(3)[0], 0);
        assertEquals(ErrorCode.DOUBLE_FREE, errors.last().error(), "a block freed by destroy is gone");
        assertIntact(canaries);
        assertEquals(1000, memory.liveBytes());
        memory.free(kept, 0);
        assertTrue(ui.destroy());
        assertEquals(0, memory.liveBytes());
        assertEquals(memory.allocations(), memory.frees());
    }

    @Test
    void shouldReleaseHeapsStillAliveOnClose() {
        CountingAllocator backend = countingBackend();
        TrackedAllocator counted = openCounted(backend, Tracking.DEBUG, 0);
        PrivateHeap heap = counted.createHeap();
        for (int i = 0; i < 50; i++) {
            assertNotEquals(0, heap.allocate(100 + i, 0, 0));
        }
        assertNotEquals(0, counted.allocate(100, 0));
        counted.close();
        assertEquals(0, counted.liveBytes());
        assertEquals(51, counted.frees());
        assertTrue(backend.closed());
    }

    // ---------------------------------------------------------------------------------------------
    // Leak tracking and debug guards

    @Test
    void shouldListEveryLiveBlockWithItsSiteWhenTrackingLeaks() {
        reopen(Map.of(AllocatorConfig.TRACKING, "leaks"));
        long fromJava = memory.allocate(123, MemoryFlags.CLEAR);
        long fromC = memory.allocate(456, MemoryFlags.TEMP, 16, memory.site("game/units.c", 42));
        long freed = memory.allocate(789, MemoryFlags.NORMAL);
        memory.free(freed, 0);
        List<LiveBlock> live = memory.liveBlockList();
        assertEquals(2, live.size());
        LiveBlock java = live.stream().filter(b -> b.address() == fromJava).findFirst().orElseThrow();
        assertEquals(123, java.size());
        assertEquals(MemoryFlags.CLEAR, java.flags());
        assertTrue(java.site().contains("shouldListEveryLiveBlockWithItsSiteWhenTrackingLeaks"), java.site());
        LiveBlock c = live.stream().filter(b -> b.address() == fromC).findFirst().orElseThrow();
        assertEquals("game/units.c:42", c.site());
        String report = memory.leakReport();
        assertTrue(report.contains("game/units.c:42"), report);
        assertTrue(report.contains("456 bytes"), report);
        assertTrue(report.contains("TEMP"), report);
        assertTrue(report.contains("total: 2 live blocks, 579 bytes"), report);
        memory.free(fromJava, 0);
        memory.free(fromC, 0);
        assertTrue(memory.leakReport().contains("total: 0 live blocks, 0 bytes"));
    }

    @Test
    void shouldNumberEveryAllocationAndBreakAtTheNamedOneWhenTrackingLeaks() {
        reopen(Map.of(AllocatorConfig.TRACKING, "leaks", AllocatorConfig.BREAK_ALLOC, "3"));
        long[] blocks = new long[5];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = memory.allocate(16 + i, MemoryFlags.NORMAL);
        }
        assertEquals(List.of(ErrorCode.BREAK_ALLOC), errors.errors());
        assertEquals(blocks[2], errors.last().address());
        assertTrue(errors.last().message().contains("allocation #3 (18 bytes"), errors.last().message());
        for (int i = 0; i < blocks.length; i++) {
            long at = blocks[i];
            assertEquals(i + 1, memory.liveBlockList().stream().filter(b -> b.address() == at).findFirst().orElseThrow().number());
        }
        assertEquals(5, memory.allocationNumber());
        assertEquals(0, memory.callerErrors(), "a break is no caller error");
        memory.setBreakAlloc(6);
        long sixth = memory.allocate(8, MemoryFlags.NORMAL);
        assertEquals(2, errors.errors().size(), "set at run time");
        assertTrue(memory.leakReport().contains("  #6  at "), memory.leakReport());
        memory.free(sixth, 0);
        for (long b : blocks) {
            memory.free(b, 0);
        }
    }

    @Test
    void shouldNameCallStacksRecordedOutsideJavaAsSites() {
        reopen(Map.of(AllocatorConfig.TRACKING, "leaks"));
        memory.nameStacksWith(id -> id == 9
            ? TrackedAllocator.stackName(List.of("spawn (units.cc:40)", "main (main.cc:9)"), "newdel.cpp", 6) : null);
        long p = memory.allocate(48, MemoryFlags.NORMAL, 16, TrackedAllocator.stackSite(9));
        assertEquals("spawn (units.cc:40) <- main (main.cc:9) [newdel.cpp:6]", memory.liveBlockList().get(0).site());
        memory.free(p, 7);
        assertTrue(errors.last().message().endsWith("; allocated at spawn (units.cc:40) <- main (main.cc:9) [newdel.cpp:6],"
            + " allocation #1"), errors.last().message());
        assertEquals(0, memory.liveBlocks());
    }

    @Test
    void shouldNameTheAllocationAndTheFreeOfABlockWrittenAfterItWasFreedAndFreedAgain() {
        reopen(Map.of(AllocatorConfig.TRACKING, "debug"));
        int allocatedAt = memory.site("alloc.c", 3);
        long p = memory.allocate(64, MemoryFlags.NORMAL, 16, allocatedAt);
        memory.free(p, 64, memory.site("free.c", 8));
        memory.free(p, 64, memory.site("again.c", 1));
        assertEquals(ErrorCode.DOUBLE_FREE, errors.last().error());
        assertTrue(errors.last().message().contains("allocated at alloc.c:3, allocation #1; freed at free.c:8"),
            errors.last().message());
        BlockPattern.poke(p + 5, (byte) 0x11);
        memory.exitChecks();
        assertEquals(ErrorCode.USE_AFTER_FREE, errors.last().error());
        assertTrue(errors.last().message().contains("allocated at alloc.c:3, allocation #1; freed at free.c:8"),
            errors.last().message());
        int reported = errors.errors().size();
        memory.exitChecks();
        assertEquals(reported, errors.errors().size(), "the exit checks run once");
        assertEquals(0, memory.checkHeap(), "and each damage is reported once");
    }

    @Test
    void shouldCheckTheHeapByItselfEveryNCallsInDebugMode() {
        reopen(Map.of(AllocatorConfig.TRACKING, "debug", AllocatorConfig.CHECK_EVERY, "100"));
        long victim = memory.allocate(32, MemoryFlags.NORMAL);
        memory.free(victim, 0);
        BlockPattern.poke(victim, (byte) 0x22);
        int calls = 0;
        while (errors.errors().isEmpty() && calls < 200) {
            memory.free(memory.allocate(24, MemoryFlags.NORMAL), 0);
            calls += 2;
        }
        assertEquals(List.of(ErrorCode.USE_AFTER_FREE), errors.errors(), "found within 100 calls: after " + calls);
        assertTrue(calls <= 100, "after " + calls + " calls");
    }

    @Test
    void shouldCatchOverrunsAndUnderrunsWithGuardsInDebugMode() {
        reopen(Map.of(AllocatorConfig.TRACKING, "debug"));
        long p = memory.allocate(100, MemoryFlags.NORMAL);
        assertTrue(BlockPattern.allBytes(p, 100, (byte) 0xCD), "new blocks are filled with 0xCD");
        long z = memory.allocate(100, MemoryFlags.CLEAR);
        assertTrue(BlockPattern.allBytes(z, 100, (byte) 0), "CLEAR wins over the fill pattern");
        assertEquals(0, memory.checkAllGuards());
        BlockPattern.poke(p + 100, (byte) 0x41); // one byte past the end
        assertEquals(1, memory.checkAllGuards());
        assertEquals(ErrorCode.GUARD_CORRUPTED, errors.last().error());
        assertTrue(errors.last().message().contains("overrun"), errors.last().message());
        BlockPattern.poke(z - 1, (byte) 0x41); // one byte before the start
        memory.free(z, 0);
        assertEquals(ErrorCode.GUARD_CORRUPTED, errors.last().error());
        assertTrue(errors.last().message().contains("underrun"), errors.last().message());
        long q = memory.reallocate(p, 0, 5000);
        assertNotEquals(0, q, "a damaged block can still be reallocated");
        assertTrue(BlockPattern.allBytes(q + 100, 4900, (byte) 0xCD), "the grown tail is filled with 0xCD");
        assertEquals(0, memory.checkAllGuards(), "realloc rewrote the guards");
        memory.free(q, 0);
        assertEquals(0, memory.liveBytes());
        // the overrun once (the check mended the guard, so the realloc found nothing more), the underrun once
        assertEquals(2, memory.callerErrors());
    }

    @Test
    void shouldRejectTheSameBadCallsInEveryTrackingMode() {
        for (String mode : new String[] {"counters", "leaks", "debug"}) {
            reopen(Map.of(AllocatorConfig.TRACKING, mode));
            errors.clear();
            long[][] canaries = liveCanaries();
            long p = memory.allocate(64, MemoryFlags.NORMAL, 256);
            assertEquals(0, p % 256);
            memory.free(p, 0);
            memory.free(p, 0);
            memory.free(canaries[3][0] + 32, 0);
            memory.free(0x7f00_dead_bee0L, 0);
            assertEquals(List.of(ErrorCode.DOUBLE_FREE, ErrorCode.INTERIOR_POINTER, ErrorCode.INVALID_POINTER),
                errors.errors(), mode);
            assertIntact(canaries);
            assertEquals(0, memory.liveBytes(), mode);
        }
    }
}
