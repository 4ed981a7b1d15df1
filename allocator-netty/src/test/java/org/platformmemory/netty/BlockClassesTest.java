package org.platformmemory.netty;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BlockClassesTest {

    @Test
    void shouldPutEveryCapacityInTheSmallestClassThatHoldsIt() {
        int previous = -1;
        for (int capacity = 1; capacity <= BlockClasses.MAX; capacity++) {
            int sizeClass = BlockClasses.of(capacity);
            assertTrue(sizeClass >= 0 && sizeClass < BlockClasses.COUNT, "class " + sizeClass);
            assertTrue(BlockClasses.capacity(sizeClass) >= capacity, "capacity " + capacity);
            if (sizeClass > 0) {
                assertTrue(BlockClasses.capacity(sizeClass - 1) < capacity, "capacity " + capacity);
            }
            assertTrue(sizeClass == previous || sizeClass == previous + 1, "classes are consecutive");
            previous = sizeClass;
        }
        assertEquals(BlockClasses.COUNT - 1, previous);
    }

    @Test
    void shouldSpaceClassesBySixteenBytesThenFourPerDoubling() {
        assertEquals(16, BlockClasses.capacity(0));
        assertEquals(128, BlockClasses.capacity(7));
        assertEquals(160, BlockClasses.capacity(8));
        assertEquals(256, BlockClasses.capacity(11));
        assertEquals(320, BlockClasses.capacity(12));
        assertEquals(BlockClasses.MAX, BlockClasses.capacity(BlockClasses.COUNT - 1));
    }

    @Test
    void shouldMapEachClassCapacityBackToItsClass() {
        for (int c = 0; c < BlockClasses.COUNT; c++) {
            assertEquals(c, BlockClasses.of(BlockClasses.capacity(c)));
        }
    }
}
