package org.platformmemory.api.internal;

import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LiveBlockSetTest {

    @Test
    void shouldAgreeWithAHashSetOverRandomAddsAndRemoves() {
        LiveBlockSet set = new LiveBlockSet(4);
        Set<Long> model = new HashSet<>();
        SplittableRandom random = new SplittableRandom(3);
        long removed = 0;
        for (int i = 0; i < 200_000; i++) {
            // addresses on a few alignments, clustered as an allocator's would be
            long address = (random.nextLong(1, 50_000) << (4 + random.nextInt(3) * 4));
            if (random.nextBoolean()) {
                set.add(address, LiveBlockSet.ALLOCATED);
                model.add(address);
            } else {
                boolean expected = model.remove(address);
                assertEquals(expected, set.remove(address, LiveBlockSet.FREED), "remove " + address);
                removed += expected ? 1 : 0;
            }
            if ((i & 1023) == 0) {
                assertEquals(model.size(), set.size());
            }
        }
        for (long a : model) {
            assertTrue(set.contains(a));
        }
        Set<Long> visited = new HashSet<>();
        set.forEach(visited::add);
        assertEquals(model, visited);
        assertEquals(removed, set.count(LiveBlockSet.FREED), "successful removes are counted, failed ones not");
        assertEquals(model.size(), set.drain(LiveBlockSet.FREED).length);
        assertEquals(removed + model.size(), set.count(LiveBlockSet.FREED), "drain counts every drained address");
        assertEquals(0, set.size());
    }

    @Test
    void shouldShrinkItsTablesOnCompactAndKeepEveryAddressLeft() {
        LiveBlockSet set = new LiveBlockSet(4);
        for (long i = 1; i <= 100_000; i++) {
            set.add(i << 4, LiveBlockSet.ALLOCATED);
        }
        assertTrue(set.capacity() >= 200_000, "grown to hold them: " + set.capacity());
        for (long i = 1; i <= 100_000; i++) {
            if (i % 100 != 0) {
                set.remove(i << 4, LiveBlockSet.FREED);
            }
        }
        set.compact();
        assertTrue(set.capacity() <= 8 * 1000 + 4 * LiveStripe.INITIAL_CAPACITY, "shrunk: " + set.capacity());
        for (long i = 1; i <= 100_000; i++) {
            assertEquals(i % 100 == 0, set.contains(i << 4), "address " + i);
        }
        set.add(7, LiveBlockSet.ALLOCATED);
        assertTrue(set.contains(7) && set.remove(7, LiveBlockSet.FREED) && set.size() == 1000, "and works on");
    }

    @Test
    void shouldSumTheBytesCountedInOverEveryStripe() {
        LiveBlockSet set = new LiveBlockSet(4);
        long expected = 0;
        SplittableRandom random = new SplittableRandom(5);
        for (int i = 1; i <= 1000; i++) {
            long bytes = random.nextLong(0, 1 << 20);
            set.add((long) i << 4, i % 3 == 0 ? LiveBlockSet.REALLOCATED : LiveBlockSet.ALLOCATED, bytes, bytes);
            expected += bytes;
            if (i % 2 == 0) {
                set.remove((long) i << 4, LiveBlockSet.FREED); // a free takes nothing back from bytes in
            }
        }
        set.add(0x10_0000, LiveBlockSet.NONE);
        assertEquals(expected, set.bytesIn());
        assertEquals(667, set.count(LiveBlockSet.ALLOCATED));
        assertEquals(333, set.count(LiveBlockSet.REALLOCATED));
    }

    /** A 100-byte block's address and a large one's, for the sets {@link #sized} makes. */
    private static final long SMALL = 0x10_0000L;
    private static final long BIG = 0x20_0000L;

    /** A set that can say which block holds an address, whose size reader knows SMALL (100 bytes) and BIG. */
    private static LiveBlockSet sized(long bigSize) {
        java.util.Map<Long, Long> sizes = java.util.Map.of(SMALL, 100L, BIG, bigSize);
        return new LiveBlockSet(4, sizes::get);
    }

    @Test
    void shouldCountANewBlockWithItsSizeAndFileALargeOneByRegion() {
        LiveBlockSet set = sized(3 * LiveBlockSet.NEAR);
        set.add(SMALL, LiveBlockSet.ALLOCATED, 100, 100);
        set.add(BIG, LiveBlockSet.ALLOCATED, 3 * LiveBlockSet.NEAR, 3 * LiveBlockSet.NEAR);
        assertTrue(set.contains(SMALL) && set.contains(BIG));
        assertEquals(2, set.count(LiveBlockSet.ALLOCATED));
        assertEquals(100 + 3 * LiveBlockSet.NEAR, set.bytesIn());
        assertEquals(SMALL, set.blockAround(SMALL + 50));
        assertEquals(BIG, set.blockAround(BIG + 2 * LiveBlockSet.NEAR + 1), "a large new block is filed by region");
        assertTrue(set.remove(BIG, LiveBlockSet.FREED));
        assertEquals(0, set.blockAround(BIG + 2 * LiveBlockSet.NEAR + 1), "and taken out of the index when removed");
        LiveBlockSet plain = new LiveBlockSet(1);
        // no size reader: nothing to file, counted all the same
        plain.add(0x1000, LiveBlockSet.ALLOCATED, 5 * LiveBlockSet.NEAR, 5 * LiveBlockSet.NEAR);
        assertEquals(1, plain.count(LiveBlockSet.ALLOCATED));
        assertEquals(5 * LiveBlockSet.NEAR, plain.bytesIn());
    }

    @Test
    void shouldFindTheHolderOfAnyAddressAmongLargeBlocksFiledInEveryStripe() {
        java.util.TreeMap<Long, Long> live = new java.util.TreeMap<>();
        LiveBlockSet set = new LiveBlockSet(16, a -> live.getOrDefault(a, -1L));
        SplittableRandom random = new SplittableRandom(11);
        long next = 1L << 32;
        for (int i = 0; i < 3_000; i++) {
            // 4 KiB to 16 MiB, with gaps: blocks of every stripe and of the first three levels
            int bits = 12 + random.nextInt(12);
            long size = (1L << bits) + random.nextLong(1L << bits) & ~15L;
            long start = next + 16 * random.nextInt(1, 600);
            next = start + size;
            live.put(start, size);
            set.add(start, LiveBlockSet.ALLOCATED, size, size);
        }
        for (Long start : new java.util.ArrayList<>(live.keySet())) {
            if (random.nextInt(3) == 0) {
                assertTrue(set.remove(start, LiveBlockSet.FREED));
                live.remove(start);
            }
        }
        for (int i = 0; i < 5_000; i++) {
            long address = (1L << 32) + random.nextLong(next - (1L << 32)) & ~7L;
            var floor = live.floorEntry(address - 1);
            long expected = floor != null && address - floor.getKey() < floor.getValue() ? floor.getKey() : 0;
            assertEquals(expected, set.blockAround(address), "address " + Long.toHexString(address));
        }
        var largest = live.entrySet().stream().max(java.util.Map.Entry.comparingByValue()).orElseThrow();
        long far = largest.getKey() + largest.getValue() - 16;
        assertEquals(largest.getKey(), set.blockAround(far));
        set.drain(LiveBlockSet.FREED);
        assertEquals(0, set.blockAround(far), "a drained set files nothing");
    }

    @Test
    void shouldFindLargeBlocksWhileOtherThreadsFileAndUnfileTheirsInTheSameStripes() throws Exception {
        java.util.Map<Long, Long> sizes = new java.util.concurrent.ConcurrentHashMap<>();
        LiveBlockSet set = new LiveBlockSet(8, a -> sizes.getOrDefault(a, -1L));
        long pinnedBase = 1L << 32;
        int pinned = 200;
        for (int i = 0; i < pinned; i++) { // never freed: 48 KiB blocks 64 KiB apart
            long start = pinnedBase + (long) i * 65536;
            sizes.put(start, 49152L);
            set.add(start, LiveBlockSet.ALLOCATED, 49152, 49152);
        }
        long until = System.nanoTime() + 300_000_000L;
        java.util.List<Thread> churners = new java.util.ArrayList<>();
        java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
        for (int t = 0; t < 2; t++) {
            long base = (2L + t) << 40; // each its own range: blocks of 4 KiB to 1 MiB, 2 MiB apart
            Thread churner = new Thread(() -> {
                SplittableRandom random = new SplittableRandom(base);
                long[] live = new long[256];
                try {
                    while (System.nanoTime() < until) {
                        int slot = random.nextInt(live.length);
                        long start = base + (long) slot * (2 << 20);
                        if (live[slot] == 0) {
                            long size = LiveBlockSet.NEAR + random.nextLong(1 << 20) & ~15L;
                            sizes.put(start, size);
                            set.add(start, LiveBlockSet.ALLOCATED, size, size);
                            live[slot] = size;
                        } else {
                            assertTrue(set.remove(start, LiveBlockSet.FREED));
                            sizes.remove(start);
                            live[slot] = 0;
                        }
                    }
                } catch (Throwable e) {
                    failure.set(e);
                }
            });
            churners.add(churner);
            churner.start();
        }
        SplittableRandom random = new SplittableRandom(17);
        int asked = 0;
        while (System.nanoTime() < until) {
            long start = pinnedBase + (long) random.nextInt(pinned) * 65536;
            long inside = start + LiveBlockSet.NEAR + 16 + random.nextLong(49152 - LiveBlockSet.NEAR - 16);
            assertEquals(start, set.blockAround(inside), "far inside a pinned block");
            assertEquals(0, set.blockAround(start + 49152 + 4096), "in the gap after it");
            asked++;
        }
        for (Thread churner : churners) {
            churner.join();
        }
        assertEquals(null, failure.get());
        assertTrue(asked > 100, "asked " + asked);
    }

    @Test
    void shouldRememberRecentlyRemovedAddressesUntilTheyAreLiveAgain() {
        LiveBlockSet set = new LiveBlockSet(1);
        set.add(0x1000, LiveBlockSet.NONE);
        assertFalse(set.recentlyRemoved(0x1000));
        assertTrue(set.remove(0x1000, LiveBlockSet.FREED));
        assertFalse(set.remove(0x1000, LiveBlockSet.FREED), "the second remove fails");
        assertTrue(set.recentlyRemoved(0x1000));
        set.add(0x1000, LiveBlockSet.NONE);
        assertFalse(set.recentlyRemoved(0x1000), "live again");
        set.add(0x2000, LiveBlockSet.FREE_UNDONE);
        assertEquals(0, set.count(LiveBlockSet.FREED), "an undone free takes its count back");
        assertEquals(0x1000 + 1, set.readIfLive(0x1000, a -> a + 1, -1));
        assertEquals(-1, set.readIfLive(0x3000, a -> a + 1, -1));
    }

    @Test
    void shouldFindTheBlockAroundAnAddressNearOrFarFromItsStart() {
        LiveBlockSet set = sized(5 * LiveBlockSet.NEAR);
        set.add(SMALL, LiveBlockSet.ALLOCATED);
        set.add(BIG, LiveBlockSet.ALLOCATED);
        assertEquals(SMALL, set.blockAround(SMALL + 1));
        assertEquals(SMALL, set.blockAround(SMALL + 99));
        assertEquals(0, set.blockAround(SMALL + 100), "one past the end is not inside");
        assertEquals(0, set.blockAround(SMALL), "the start itself is not an interior pointer");
        assertEquals(BIG, set.blockAround(BIG + 8));
        assertEquals(BIG, set.blockAround(BIG + 4 * LiveBlockSet.NEAR + 7), "far from its start: the sorted index");
        assertEquals(0, set.blockAround(BIG + 5 * LiveBlockSet.NEAR));
        assertEquals(0, set.blockAround(0x30_0000L));
        assertTrue(set.remove(BIG, LiveBlockSet.FREED));
        assertEquals(0, set.blockAround(BIG + 4 * LiveBlockSet.NEAR + 7), "a freed block holds nothing");
        set.add(BIG, LiveBlockSet.ALLOCATED);
        set.drain(LiveBlockSet.FREED);
        assertEquals(0, set.blockAround(BIG + 8));
    }
}
