package org.platformmemory.api.kit;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SizeClassesTest {

    private final SizeClasses classes = SizeClasses.DEFAULT;

    @Test
    void shouldHaveFortyClassesFromSixteenBytesToThirtyTwoKibByDefault() {
        assertEquals(40, classes.count());
        assertEquals(16, classes.size(0));
        assertEquals(32 << 10, classes.largest());
        assertEquals(32 << 10, classes.size(39));
    }

    @Test
    void shouldSpaceClassesBySixteenBytesThenFourPerDoubling() {
        int[] start = {16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320};
        for (int i = 0; i < start.length; i++) {
            assertEquals(start[i], classes.size(i), "class " + i);
        }
        for (int i = 1; i < classes.count(); i++) {
            assertTrue(classes.size(i) > classes.size(i - 1));
            assertEquals(0, classes.size(i) % SizeClasses.QUANTUM);
            assertTrue(classes.size(i) - classes.size(i - 1) <= Math.max(16, classes.size(i - 1) / 4),
                "at most a quarter lost to rounding at class " + i);
        }
    }

    @Test
    void shouldMapEverySizeToTheSmallestClassThatHoldsIt() {
        int previous = 0;
        for (int size = 1; size <= classes.largest(); size++) {
            int c = classes.classOf(size);
            assertTrue(classes.size(c) >= size, "class of " + size + " is too small");
            assertTrue(c == 0 || classes.size(c - 1) < size, "class of " + size + " is not the smallest");
            assertTrue(c == previous || c == previous + 1, "classes are consecutive at " + size);
            previous = c;
        }
        assertEquals(classes.count() - 1, previous);
    }

    @Test
    void shouldMapEachClassSizeBackToItsClass() {
        for (int c = 0; c < classes.count(); c++) {
            assertEquals(c, classes.classOf(classes.size(c)));
        }
    }

    @Property
    void shouldFindTheClassOfExactlyASizeOnlyWhenAClassHasIt(@ForAll @LongRange(min = -64, max = 40 << 10) long size,
                                                            @ForAll @IntRange(min = 1, max = 8) int perDoubling) {
        SizeClasses table = new SizeClasses(16 << 10, perDoubling);
        int c = table.classOfExactly(size);
        int holding = table.classOf(size);
        if (holding >= 0 && size > 0 && table.size(holding) == size) {
            assertEquals(holding, c, size + " is a class size");
        } else {
            assertEquals(-1, c, size + " is no class size");
        }
    }

    @Test
    void shouldRefuseSizesAboveTheLargestClassOrNegative() {
        assertEquals(-1, classes.classOf(classes.largest() + 1));
        assertEquals(-1, classes.classOf(-1));
        assertEquals(-1, classes.classOf(Long.MIN_VALUE, 16));
        assertEquals(0, classes.classOf(0), "an empty block takes the smallest class");
    }

    @Test
    void shouldPickAClassThatIsAMultipleOfALargerAlignment() {
        assertEquals(64, classes.size(classes.classOf(20, 64)));
        assertEquals(4096, classes.size(classes.classOf(100, 4096)));
        assertEquals(-1, classes.classOf(100, 2 * SizeClasses.MAX_ALIGNMENT), "beyond a page: no class");
        assertEquals(-1, classes.classOf(classes.largest() + 1, 64));
    }

    @Property(tries = 300)
    void shouldServeEveryAlignmentUpToAPageWithAnAlignedClassLargeEnough(
        @ForAll @IntRange(min = 1, max = 32 << 10) int size, @ForAll @IntRange(min = 4, max = 12) int log2) {
        long alignment = 1L << log2;
        int c = classes.classOf(size, alignment);
        assertTrue(c >= 0, size + " at " + alignment);
        assertEquals(0, classes.size(c) % alignment, size + " at " + alignment);
        assertTrue(classes.size(c) >= size);
        assertTrue(c == 0 || classes.size(c - 1) < size || classes.size(c - 1) % alignment != 0,
            "the first aligned class that holds it");
    }

    @Property(tries = 200)
    void shouldMapEverySizeToTheSmallestClassHoldingItForAnySpacing(
        @ForAll @IntRange(min = 1, max = 16) int perDoubling, @ForAll @LongRange(min = 1, max = 256) long quanta) {
        SizeClasses custom = new SizeClasses((int) quanta * 16, perDoubling);
        for (long size = 0; size <= custom.largest(); size++) {
            int c = custom.classOf(size);
            assertTrue(custom.size(c) >= size, "size " + size + " fits class " + c);
            assertTrue(c == 0 || custom.size(c - 1) < size, "size " + size + ": class " + c + " is the smallest");
        }
    }

    @Property(tries = 200)
    void shouldKeepEveryClassAMultipleOfSixteenForAnySpacing(
        @ForAll @IntRange(min = 1, max = 16) int perDoubling, @ForAll @LongRange(min = 1, max = 4096) long quanta) {
        SizeClasses custom = new SizeClasses((int) quanta * 16, perDoubling);
        assertEquals(quanta * 16, custom.largest());
        for (int c = 0; c < custom.count(); c++) {
            assertEquals(0, custom.size(c) % 16, custom.toString());
            assertTrue(c == 0 || custom.size(c) > custom.size(c - 1), custom.toString());
        }
        long size = quanta * 16 - 5;
        int c = custom.classOf(size);
        assertTrue(custom.size(c) >= size && (c == 0 || custom.size(c - 1) < size));
    }

    @Test
    void shouldRejectALargestClassThatIsNotAMultipleOfSixteenOrASpacingOutOfRange() {
        assertThrows(IllegalArgumentException.class, () -> new SizeClasses(100, 4));
        assertThrows(IllegalArgumentException.class, () -> new SizeClasses(0, 4));
        assertThrows(IllegalArgumentException.class, () -> new SizeClasses(4096, 0));
        assertThrows(IllegalArgumentException.class, () -> new SizeClasses(4096, 17));
    }

    /** A thread's stack per class: bounded by blocks and by bytes, never below the floor; none at 0 blocks. */
    @Test
    void stackCapacitiesBoundBlocksAndBytesWithAFloor() {
        SizeClasses classes = SizeClasses.DEFAULT;
        int[] capacity = classes.stackCapacities(2, 128, 64L << 10);
        assertEquals(classes.count(), capacity.length);
        assertEquals(128, capacity[0]); // 16-byte blocks: 128 of them is 2 KiB, under the byte bound
        assertEquals(2, capacity[classes.count() - 1]); // 32 KiB blocks: 2 by bytes, and the floor is 2
        for (int c = 0; c < capacity.length; c++) {
            long bytes = (long) capacity[c] * classes.size(c);
            assertTrue(capacity[c] >= 2 && capacity[c] <= 128, "class " + c + ": " + capacity[c]);
            assertTrue(capacity[c] == 2 || bytes <= 64L << 10, "class " + c + " holds " + bytes + " bytes");
            assertTrue(capacity[c] == 128 || (long) (capacity[c] + 1) * classes.size(c) > 64L << 10,
                "class " + c + " could hold one more block: " + capacity[c]);
        }
        assertEquals(1, classes.stackCapacities(1, 64, 1024)[classes.count() - 1]);
        for (int n : classes.stackCapacities(1, 0, 64L << 10)) {
            assertEquals(0, n);
        }
        assertThrows(IllegalArgumentException.class, () -> classes.stackCapacities(-1, 8, 1024));
    }
}
