package org.platformmemory.bench.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

class SpreadTest {

    @Test
    void shouldTakeTheMiddleValueOfAnOddCount() {
        Spread s = Spread.of(9, 1, 5);

        assertEquals(5, s.median());
        assertEquals(1, s.min());
        assertEquals(9, s.max());
        assertEquals(3, s.runs());
    }

    @Test
    void shouldAverageTheMiddleTwoOfAnEvenCount() {
        assertEquals(4.5, Spread.of(1, 4, 5, 100).median());
    }

    @Test
    void shouldLeaveOutValuesThatAreNotFinite() {
        Spread s = Spread.of(Double.NaN, 2, Double.POSITIVE_INFINITY, 4);

        assertEquals(3, s.median());
        assertEquals(2, s.runs());
    }

    @Test
    void shouldBeNoneWithoutValues() {
        assertSame(Spread.NONE, Spread.of(Double.NaN));
        assertFalse(Spread.NONE.present());
    }

    @Test
    void shouldGiveTheLargerSideOfTheRangeAsTheRelativeSpread() {
        assertEquals(0.5, Spread.of(90, 100, 150).relativeSpread(), 1e-12);
        assertEquals(0, Spread.of(7).relativeSpread());
    }
}
