package org.platformmemory.agrona;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SizeClassesTest {

    private final SizeClasses classes = new SizeClasses(32 << 10, 4);

    @Test
    void shouldSpaceClassesFourPerDoublingInSixteenByteSteps() {
        int[] start = {16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320};
        for (int i = 0; i < start.length; i++) {
            assertEquals(start[i], classes.size(i));
        }
        assertEquals(32 << 10, classes.largest());
        for (int i = 1; i < classes.count(); i++) {
            assertTrue(classes.size(i) > classes.size(i - 1));
            assertEquals(0, classes.size(i) % 16);
            assertTrue(classes.size(i) - classes.size(i - 1) <= Math.max(16, classes.size(i - 1) / 4),
                "at most a quarter lost to rounding");
        }
    }

    @Test
    void shouldMapEverySizeToTheSmallestClassThatHoldsIt() {
        for (int size = 1; size <= classes.largest(); size++) {
            int c = classes.classFor(size, 16);
            assertTrue(classes.size(c) >= size);
            assertTrue(c == 0 || classes.size(c - 1) < size, "size " + size);
        }
        assertEquals(-1, classes.classFor(classes.largest() + 1, 16));
    }

    @Test
    void shouldPickAClassThatIsAMultipleOfALargerAlignment() {
        assertEquals(64, classes.size(classes.classFor(20, 64)));
        assertEquals(4096, classes.size(classes.classFor(100, 4096)));
        assertEquals(-1, classes.classFor(100, 8192), "beyond a page: a buffer of its own");
    }
}
