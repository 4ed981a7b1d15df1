package org.platformmemory.agrona;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

import org.agrona.UnsafeApi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.platformmemory.api.Allocator;
import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.Backends;
import org.platformmemory.api.InvalidConfigException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SlabAllocatorTest {

    private static final long A = Allocator.MIN_ALIGNMENT;

    private SlabAllocator slabs;

    @AfterEach
    void close() {
        if (slabs != null) {
            slabs.close();
        }
    }

    private SlabAllocator open(String options) {
        slabs = (SlabAllocator) new AgronaAllocatorProvider().create(AllocatorConfig.parse(options));
        return slabs;
    }

    private long stat(String key) {
        return slabs.statistics().getOrDefault(key, 0L);
    }

    @Test
    void shouldBeFoundByNameThroughTheServiceLoader() {
        try (Allocator backend = Backends.create(AllocatorConfig.parse("allocator.backend=agrona"))) {
            assertInstanceOf(SlabAllocator.class, backend);
            assertEquals("agrona", backend.name());
        }
    }

    @Test
    void shouldReuseAFreedSlotBeforeTakingAnother() {
        open("");
        long first = slabs.allocate(80, A);
        slabs.free(first, 80, A);
        long second = slabs.allocate(72, A);
        assertEquals(first, second, "the freed 80-byte slot is handed out again");
        assertEquals(1, stat("class.80.slabs"));
        assertEquals(1, stat("class.80.slotsUsed"));
        assertEquals(8, stat("class.80.wasteBytes") - (256 * 1024 % 80), "72 bytes in an 80-byte slot waste 8");
        slabs.free(second, 72, A);
    }

    @Test
    void shouldFillASlabBeforeMakingASecondOne() {
        open("allocator.agrona.slabSize=4k;allocator.agrona.maxClass=512");
        int perSlab = 4096 / 64;
        long[] blocks = new long[perSlab + 1];
        Set<Long> distinct = new HashSet<>();
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = slabs.allocate(64, A);
            assertNotEquals(0, blocks[i]);
            assertTrue(distinct.add(blocks[i]), "every slot is handed out once");
            UnsafeApi.putLong(blocks[i], i);
        }
        assertEquals(2, stat("class.64.slabs"));
        assertEquals(perSlab + 1, stat("class.64.slotsUsed"));
        assertEquals(perSlab - 1, stat("class.64.slotsFree"));
        for (int i = 0; i < blocks.length; i++) {
            assertEquals(i, UnsafeApi.getLong(blocks[i]), "slots do not overlap");
            slabs.free(blocks[i], 64, A);
        }
        assertEquals(0, stat("class.64.slotsUsed"));
    }

    @Test
    void shouldReleaseAnEmptySlabAtOnceWhenNothingIsKeptAndThereIsNoDelay() {
        // without magazines every free goes straight to its slab (with them, see the flushed-magazine test)
        open("allocator.agrona.slabSize=4k;allocator.agrona.maxClass=512;allocator.agrona.magazineSize=0;"
            + "allocator.agrona.reclaimDelayMs=0;allocator.agrona.emptySlabsKept=0");
        long[] blocks = fillTwoSlabs();
        long held = stat("heldBytes");
        for (int i = 0; i < 64; i++) {
            slabs.free(blocks[i], 64, A); // the first slab, no longer current, empties
        }
        assertEquals(1, stat("class.64.slabs"), "the empty slab went back");
        assertEquals(1, stat("class.64.slabsReleased"));
        assertEquals(held - 4096 - Slab.PAGE, stat("heldBytes"));
        slabs.free(blocks[64], 64, A);
    }

    @Test
    void shouldReleaseASlabOnceItsSlotsLeaveTheMagazine() {
        open("allocator.agrona.slabSize=4k;allocator.agrona.maxClass=512;"
            + "allocator.agrona.reclaimDelayMs=0;allocator.agrona.emptySlabsKept=0");
        long[] blocks = fillTwoSlabs();
        long held = stat("heldBytes");
        for (int i = 0; i < 64; i++) {
            slabs.free(blocks[i], 64, A);
        }
        assertEquals(2, stat("class.64.slabs"), "slots in this thread's magazine keep their slab");
        assertTrue(stat("class.64.slotsCached") > 0);
        assertEquals(1, stat("class.64.slotsUsed"));
        slabs.reclaim(false);
        assertEquals(0, stat("class.64.slotsCached"), "reclaim flushes the calling thread's magazine");
        assertEquals(1, stat("class.64.slabs"), "the empty slab went back");
        assertEquals(1, stat("class.64.slabsReleased"));
        assertEquals(held - 4096 - Slab.PAGE, stat("heldBytes"));
        slabs.free(blocks[64], 64, A);
    }

    @Test
    void shouldReuseACachedSlotWithoutTouchingTheSlab() {
        open("allocator.agrona.slabSize=4k;allocator.agrona.maxClass=512;allocator.agrona.magazineSize=8");
        long first = slabs.allocate(64, A);
        long onSlab = stat("class.64.slotsFree") - stat("class.64.slotsCached");
        assertEquals(64 - 4, onSlab, "a refill takes half a magazine from the slab in one batch");
        for (int i = 0; i < 1000; i++) {
            slabs.free(first, 64, A);
            assertEquals(first, slabs.allocate(64, A), "the slot just freed comes back first");
        }
        assertEquals(onSlab, stat("class.64.slotsFree") - stat("class.64.slotsCached"),
            "the slab's free stack was not touched");
        assertEquals(1, stat("class.64.slotsUsed"));
        slabs.free(first, 64, A);
    }

    @Test
    void shouldSpillTheOlderHalfOfAFullMagazineToTheSlabs() {
        open("allocator.agrona.slabSize=4k;allocator.agrona.maxClass=512;allocator.agrona.magazineSize=8");
        long[] blocks = new long[20];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = slabs.allocate(64, A);
        }
        for (long b : blocks) {
            slabs.free(b, 64, A);
            assertTrue(stat("class.64.slotsCached") <= 8, "a magazine never holds more than its size");
        }
        assertEquals(0, stat("class.64.slotsUsed"));
        assertEquals(64, stat("class.64.slotsFree"));
        assertEquals(blocks[blocks.length - 1], slabs.allocate(64, A), "the newest slot stays cached");
    }

    @Test
    void shouldSendSlotsFreedByAnotherThreadHomeToTheirOwnSlab() throws Exception {
        open("allocator.agrona.slabSize=4k;allocator.agrona.maxClass=512;"
            + "allocator.agrona.reclaimDelayMs=0;allocator.agrona.emptySlabsKept=0");
        long[] blocks = fillTwoSlabs();
        long held = stat("heldBytes");
        runInAnotherThread(() -> {
            for (int i = 0; i < 64; i++) {
                slabs.free(blocks[i], 64, A); // into this thread's magazine
            }
            assertEquals(2, stat("class.64.slabs"));
            slabs.reclaim(false); // flushes this thread's magazine: each slot to the slab it came from
        });
        assertEquals(1, stat("class.64.slabs"), "the first slab got all its slots back and went");
        assertEquals(1, stat("class.64.slabsReleased"));
        assertEquals(held - 4096 - Slab.PAGE, stat("heldBytes"));
        assertEquals(1, stat("class.64.slotsUsed"));
        slabs.free(blocks[64], 64, A);
    }

    @Test
    void shouldRetireTheMagazinesOfEndedThreadsWhenANewThreadStarts() throws Exception {
        open("allocator.agrona.slabSize=4k;allocator.agrona.maxClass=512;"
            + "allocator.agrona.reclaimDelayMs=0;allocator.agrona.emptySlabsKept=0");
        long[] blocks = fillTwoSlabs();
        runInAnotherThread(() -> {
            for (int i = 0; i < 64; i++) {
                slabs.free(blocks[i], 64, A); // left in this thread's magazine when it ends
            }
        });
        assertEquals(2, stat("magazineThreads"));
        assertEquals(2, stat("class.64.slabs"), "the ended thread's magazine still holds the slots");
        assertEquals(1, stat("class.64.slotsUsed"));
        runInAnotherThread(() -> slabs.free(slabs.allocate(16, A), 16, A));
        assertEquals(2, stat("magazineThreads"), "the new thread retired the ended one's magazine");
        assertEquals(1, stat("class.64.slabs"), "its slots went home and the empty slab went");
        assertEquals(1, stat("class.64.slabsReleased"));
        slabs.free(blocks[64], 64, A);
    }

    @Test
    void shouldRetireTheMagazinesOfEndedThreadsBeforeMakingANewSlab() throws Exception {
        open("allocator.agrona.slabSize=4k;allocator.agrona.maxClass=512;allocator.agrona.maxSlabsPerClass=1");
        long[] blocks = new long[64];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = slabs.allocate(64, A);
        }
        runInAnotherThread(() -> {
            for (long b : blocks) {
                slabs.free(b, 64, A);
            }
        });
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = slabs.allocate(64, A);
            assertNotEquals(0, blocks[i], "the ended thread's cached slots are usable again");
        }
        assertEquals(1, stat("class.64.slabs"));
        for (long b : blocks) {
            slabs.free(b, 64, A);
        }
    }

    @Test
    void shouldGoStraightToTheSlabsWithoutMagazines() {
        open("allocator.agrona.slabSize=4k;allocator.agrona.maxClass=512;allocator.agrona.magazineSize=0");
        long p = slabs.allocate(64, A);
        assertEquals(0, stat("class.64.slotsCached"));
        assertEquals(63, stat("class.64.slotsFree"), "one slot taken from the slab, no batch");
        slabs.free(p, 64, A);
        assertEquals(64, stat("class.64.slotsFree"));
        assertEquals(0, stat("class.64.slotsCached"));
        assertEquals(p, slabs.allocate(64, A), "the slab's stack hands the slot out again");
        slabs.free(p, 64, A);
    }

    @Test
    void shouldCountRequestedBytesAcrossThreadsForTheWaste() throws Exception {
        open("");
        long tail = 256 * 1024 % 112;
        long[] blocks = new long[100];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = slabs.allocate(100, A);
        }
        assertEquals(100 * 12 + tail, stat("class.112.wasteBytes"));
        blocks[0] = slabs.reallocate(blocks[0], 100, 110, A);
        assertEquals(99 * 12 + 2 + tail, stat("class.112.wasteBytes"), "a resize within the slot counts");
        runInAnotherThread(() -> {
            for (int i = 50; i < blocks.length; i++) {
                slabs.free(blocks[i], 100, A);
            }
        });
        assertEquals(49 * 12 + 2 + tail, stat("class.112.wasteBytes"), "frees by another thread count");
        assertEquals(50, stat("class.112.slotsUsed"));
        slabs.reclaim(false); // retires the ended thread's magazine: its count moves to the totals
        assertEquals(1, stat("magazineThreads"));
        assertEquals(49 * 12 + 2 + tail, stat("class.112.wasteBytes"), "still right once its thread is retired");
        slabs.free(blocks[0], 110, A);
        for (int i = 1; i < 50; i++) {
            slabs.free(blocks[i], 100, A);
        }
        assertEquals(tail, stat("class.112.wasteBytes"));
        assertEquals(0, stat("class.112.slotsUsed"));
    }

    @Test
    void shouldKeepAnEmptySlabUntilTheReclaimDelayHasPassed() throws InterruptedException {
        open("allocator.agrona.slabSize=4k;allocator.agrona.maxClass=512;"
            + "allocator.agrona.reclaimDelayMs=200;allocator.agrona.emptySlabsKept=0");
        long[] blocks = fillTwoSlabs();
        for (int i = 0; i < 64; i++) {
            slabs.free(blocks[i], 64, A);
        }
        assertEquals(2, stat("class.64.slabs"), "hysteresis: the empty slab stays for now");
        slabs.reclaim(false);
        assertEquals(2, stat("class.64.slabs"), "still within the delay");
        Thread.sleep(250);
        slabs.reclaim(false);
        assertEquals(1, stat("class.64.slabs"), "released once the delay passed");
        slabs.free(blocks[64], 64, A);
    }

    @Test
    void shouldKeepTheConfiguredNumberOfEmptySlabsForReuse() {
        open("allocator.agrona.slabSize=4k;allocator.agrona.maxClass=512;"
            + "allocator.agrona.reclaimDelayMs=0;allocator.agrona.emptySlabsKept=1");
        long[] blocks = fillTwoSlabs();
        for (int i = 0; i < 64; i++) {
            slabs.free(blocks[i], 64, A);
        }
        slabs.reclaim(false);
        assertEquals(2, stat("class.64.slabs"), "one empty slab is kept");
        slabs.reclaim(true);
        assertEquals(1, stat("class.64.slabs"), "forced reclaim releases it");
        slabs.free(blocks[64], 64, A);
    }

    @Test
    void shouldNeverReleaseSlabsWhenTheReclaimPolicyIsNever() {
        open("allocator.agrona.slabSize=4k;allocator.agrona.maxClass=512;allocator.agrona.reclaim=never;"
            + "allocator.agrona.reclaimDelayMs=0;allocator.agrona.emptySlabsKept=0");
        long[] blocks = fillTwoSlabs();
        for (long b : blocks) {
            slabs.free(b, 64, A);
        }
        slabs.reclaim(false);
        assertEquals(2, stat("class.64.slabs"));
    }

    @Test
    void shouldTakeBackSlotsFreedByAnotherThread() throws Exception {
        open("allocator.agrona.slabSize=4k;allocator.agrona.maxClass=512");
        int count = 10_000;
        long[] blocks = new long[count];
        for (int i = 0; i < count; i++) {
            blocks[i] = slabs.allocate(48, A);
            assertNotEquals(0, blocks[i]);
        }
        long slabsBefore = stat("class.48.slabs");
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread other = Thread.ofPlatform().start(() -> {
            try {
                for (long b : blocks) {
                    slabs.free(b, 48, A);
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        other.join();
        assertEquals(null, failure.get());
        assertEquals(0, stat("class.48.slotsUsed"), "every slot freed by the other thread is free again");
        for (int i = 0; i < count; i++) {
            blocks[i] = slabs.allocate(48, A);
        }
        assertTrue(stat("class.48.slabs") <= slabsBefore, "the slots came home: no new slabs were needed");
        for (long b : blocks) {
            slabs.free(b, 48, A);
        }
    }

    @Test
    void shouldStayConsistentWhenThreadsAllocateAndFreeTheSameClassAtOnce() throws Exception {
        open("allocator.agrona.slabSize=4k;allocator.agrona.maxClass=512;"
            + "allocator.agrona.reclaimDelayMs=0;allocator.agrona.emptySlabsKept=0");
        int threads = 4;
        CountDownLatch start = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            long tag = t + 1;
            workers[t] = Thread.ofPlatform().start(() -> {
                long[] mine = new long[200];
                try {
                    start.await();
                    for (int round = 0; round < 500; round++) {
                        for (int i = 0; i < mine.length; i++) {
                            mine[i] = slabs.allocate(32, A);
                            UnsafeApi.putLong(mine[i], tag << 32 | i);
                        }
                        for (int i = 0; i < mine.length; i++) {
                            if (UnsafeApi.getLong(mine[i]) != (tag << 32 | i)) {
                                throw new AssertionError("slot " + Long.toHexString(mine[i]) + " was handed out twice");
                            }
                            slabs.free(mine[i], 32, A);
                        }
                    }
                } catch (Throwable e) {
                    failure.set(e);
                }
            });
        }
        start.countDown();
        for (Thread w : workers) {
            w.join();
        }
        assertEquals(null, failure.get());
        assertEquals(0, stat("class.32.slotsUsed"));
    }

    @Test
    void shouldFailWhenAClassReachesItsSlabCap() {
        open("allocator.agrona.slabSize=4k;allocator.agrona.maxClass=512;allocator.agrona.maxSlabsPerClass=1");
        long[] blocks = new long[64];
        for (int i = 0; i < 64; i++) {
            blocks[i] = slabs.allocate(64, A);
            assertNotEquals(0, blocks[i]);
        }
        assertEquals(0, slabs.allocate(64, A), "a second slab would pass the cap");
        slabs.free(blocks[0], 64, A);
        assertNotEquals(0, slabs.allocate(64, A), "a freed slot is usable again");
    }

    @Test
    void shouldReleaseEveryEmptySlabBeforeGrowingBeyondTheLimit() {
        open("allocator.limit=16k;allocator.agrona.slabSize=4k;allocator.agrona.maxClass=512;"
            + "allocator.agrona.reclaimDelayMs=100000;allocator.agrona.emptySlabsKept=100");
        long small = slabs.allocate(16, A);
        slabs.free(slabs.allocate(32, A), 32, A);
        slabs.free(slabs.allocate(48, A), 48, A);
        assertEquals(2 * (4096 + Slab.PAGE), stat("heldBytes"), "the empty 32-byte slab made room for the 48-byte one");
        long[] blocks = fillTwoSlabs();
        assertEquals(0, stat("class.32.slabs"));
        assertEquals(0, stat("class.48.slabs"), "empty slabs went back despite the long delay");
        assertEquals(3 * (4096 + Slab.PAGE), stat("heldBytes"), "what is in use, and nothing cached");
        slabs.free(small, 16, A);
        for (long b : blocks) {
            slabs.free(b, 64, A);
        }
    }

    @Test
    void shouldGiveLargeBlocksAnAlignedBufferOfTheirOwn() {
        open("");
        for (long align = A; align <= 1 << 20; align <<= 1) {
            long p = slabs.allocate(100_000, align);
            assertNotEquals(0, p);
            assertEquals(0, p % align);
            UnsafeApi.setMemory(p, 100_000, (byte) 7);
            assertEquals(1, stat("largeBlocks"));
            slabs.free(p, 100_000, align);
            assertEquals(0, stat("largeBlocks"));
        }
        assertEquals(0, stat("heldBytes"));
    }

    @Test
    void shouldAlignSmallBlocksUpToAPageWithinSlabs() {
        open("");
        for (long align = A; align <= Slab.PAGE; align <<= 1) {
            long p = slabs.allocate(24, align);
            assertEquals(0, p % align, "alignment " + align);
            assertEquals(0, stat("largeBlocks"), "served from a slab");
            slabs.free(p, 24, align);
        }
    }

    @Test
    void shouldResizeWithinASlotInPlace() {
        open("");
        long p = slabs.allocate(70, A);
        assertEquals(p, slabs.reallocate(p, 70, 80, A));
        long q = slabs.reallocate(p, 80, 200, A);
        assertNotEquals(p, q);
        slabs.free(q, 200, A);
        assertEquals(0, stat("class.80.slotsUsed"));
    }

    @Test
    void shouldRejectMalformedSettingsNamingKeyValueAndWhatIsAllowed() {
        InvalidConfigException e = assertThrows(InvalidConfigException.class,
            () -> open("allocator.agrona.slabSize=300k"));
        assertTrue(e.getMessage().contains("allocator.agrona.slabSize") && e.getMessage().contains("300k")
            && e.getMessage().contains("power of two"), e.getMessage());
        e = assertThrows(InvalidConfigException.class, () -> open("allocator.agrona.maxClass=100"));
        assertTrue(e.getMessage().contains("multiple of 16"), e.getMessage());
        e = assertThrows(InvalidConfigException.class, () -> open("allocator.agrona.reclaim=sometimes"));
        assertTrue(e.getMessage().contains("delayed, never"), e.getMessage());
        e = assertThrows(InvalidConfigException.class,
            () -> open("allocator.agrona.maxClass=64k;allocator.agrona.slabSize=256k"));
        assertTrue(e.getMessage().contains("524288"), e.getMessage());
        e = assertThrows(InvalidConfigException.class, () -> open("allocator.agrona.magazineSize=5000"));
        assertTrue(e.getMessage().contains("allocator.agrona.magazineSize") && e.getMessage().contains("5000"),
            e.getMessage());
        e = assertThrows(InvalidConfigException.class,
            () -> Backends.create(AllocatorConfig.parse("allocator.backend=agrona;allocator.agrona.slabsize=1m")));
        assertTrue(e.getMessage().contains("allocator.agrona.slabsize"), e.getMessage());
    }

    @Test
    void shouldReportSlabStatisticsPerClass() {
        open("");
        long p = slabs.allocate(100, A);
        Map<String, Long> stats = slabs.statistics();
        assertEquals(1L, stats.get("class.112.slabs"));
        assertEquals(1L, stats.get("class.112.slotsUsed"));
        assertEquals(256 * 1024 / 112 - 1, stats.get("class.112.slotsFree"));
        assertEquals(12 + 256 * 1024 % 112, stats.get("class.112.wasteBytes"));
        slabs.free(p, 100, A);
    }

    private static void runInAnotherThread(Runnable work) throws InterruptedException {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread other = Thread.ofPlatform().start(() -> {
            try {
                work.run();
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        other.join();
        if (failure.get() != null) {
            throw new AssertionError("in the other thread", failure.get());
        }
    }

    private long[] fillTwoSlabs() {
        long[] blocks = new long[65];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = slabs.allocate(64, A);
            assertNotEquals(0, blocks[i]);
        }
        assertEquals(2, stat("class.64.slabs"));
        return blocks;
    }
}
