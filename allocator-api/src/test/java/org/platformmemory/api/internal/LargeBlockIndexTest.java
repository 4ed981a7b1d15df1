package org.platformmemory.api.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LargeBlockIndexTest {

    /** The block holding {@code address} according to the index, checked against {@code live} as LiveBlockSet does. */
    private static long holder(LargeBlockIndex index, TreeMap<Long, Long> live, long address, int[] looks) {
        return index.holderOf(address, start -> {
            looks[0]++;
            Long size = live.get(start);
            return size != null && address - start < size;
        });
    }

    @Test
    void shouldAgreeWithASortedMapOverRandomNonOverlappingBlocksOfEverySize() {
        LargeBlockIndex index = new LargeBlockIndex();
        TreeMap<Long, Long> live = new TreeMap<>();
        SplittableRandom random = new SplittableRandom(7);
        long next = 1L << 32;
        List<Long> starts = new ArrayList<>();
        for (int i = 0; i < 5_000; i++) {
            // sizes from 4 KiB to 64 GiB (address space only: nothing is allocated), with gaps between blocks
            int bits = 12 + random.nextInt(25);
            long size = (1L << bits) + random.nextLong(1L << bits) & ~15L;
            long start = next + 16 * random.nextInt(300);
            next = start + size;
            live.put(start, size);
            index.add(start, size);
            starts.add(start);
        }
        for (int i = 0; i < 2_000; i++) {
            long start = starts.get(random.nextInt(starts.size()));
            Long size = live.remove(start);
            if (size != null) {
                index.remove(start, size);
            }
        }
        int[] looks = {0};
        for (int i = 0; i < 20_000; i++) {
            long address = (1L << 32) + random.nextLong(next - (1L << 32));
            var floor = live.floorEntry(address - 1);
            long expected = floor != null && address - floor.getKey() < floor.getValue() ? floor.getKey() : 0;
            looks[0] = 0;
            assertEquals(expected, holder(index, live, address, looks), "address " + Long.toHexString(address));
            assertTrue(looks[0] <= 10, "one candidate per level at most: " + looks[0]);
        }
        for (long start : new ArrayList<>(live.keySet())) {
            index.remove(start, live.remove(start));
        }
        assertTrue(index.isEmpty());
    }

    @Test
    void shouldNotFileSmallBlocks() {
        LargeBlockIndex index = new LargeBlockIndex();
        index.add(0x10000, LargeBlockIndex.SMALLEST - 16);
        assertTrue(index.isEmpty());
        index.add(0x20000, LargeBlockIndex.SMALLEST);
        assertTrue(!index.isEmpty());
    }
}
