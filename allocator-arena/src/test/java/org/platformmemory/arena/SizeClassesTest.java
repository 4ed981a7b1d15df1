package org.platformmemory.arena;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SizeClassesTest {

    @Test
    void shouldRoundEverySmallSizeUpToTheSmallestClassThatHoldsIt() {
        for (int size = 1; size <= SizeClasses.SMALL_MAX; size++) {
            int c = SizeClasses.classOf(size);
            assertTrue(SizeClasses.sizeOf(c) >= size, "class of " + size + " is too small");
            assertTrue(c == 0 || SizeClasses.sizeOf(c - 1) < size, "class of " + size + " is not the smallest");
        }
        assertEquals(SizeClasses.COUNT - 1, SizeClasses.classOf(SizeClasses.SMALL_MAX));
    }

    @Test
    void shouldWasteAtMostAQuarterAbove128Bytes() {
        for (int size = 129; size <= SizeClasses.SMALL_MAX; size++) {
            assertTrue(SizeClasses.sizeOf(SizeClasses.classOf(size)) * 4L <= size * 5L + 4, "waste at " + size);
        }
    }

    @Test
    void shouldPickAClassWhoseSizeIsAMultipleOfTheAlignment() {
        for (long alignment = 16; alignment <= SizeClasses.PAGE; alignment <<= 1) {
            for (int size = 1; size <= SizeClasses.SMALL_MAX; size += 7) {
                int c = SizeClasses.classOf(size, alignment);
                assertTrue(c >= 0, size + " at " + alignment);
                assertEquals(0, SizeClasses.sizeOf(c) % alignment, size + " at " + alignment);
                assertTrue(SizeClasses.sizeOf(c) >= size);
            }
        }
        assertEquals(-1, SizeClasses.classOf(64, 2 * SizeClasses.PAGE));
    }

    @Test
    void shouldGiveEverySlabAtLeastEightBlocks() {
        for (int c = 0; c < SizeClasses.COUNT; c++) {
            long bytes = (long) SizeClasses.slabPages(c) * SizeClasses.PAGE;
            assertTrue(bytes / SizeClasses.sizeOf(c) >= 8, "class " + c);
        }
    }
}
