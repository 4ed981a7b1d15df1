package org.platformmemory.api.kit;

import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

class AddressIndexTest {

    @Test
    void shouldFindNothingInAnEmptyIndex() {
        AddressIndex<String> index = AddressIndex.empty();
        assertEquals(0, index.size());
        assertNull(index.floor(0x1000));
    }

    @Test
    void shouldFindTheRegionWithTheGreatestBaseAtOrBelowAnAddress() {
        AddressIndex<String> index = AddressIndex.<String>empty()
            .with(0x3000, "c").with(0x1000, "a").with(0x2000, "b");
        assertEquals("a", index.get(0));
        assertEquals("c", index.get(2));
        assertNull(index.floor(0xFFF), "below every base");
        assertEquals("a", index.floor(0x1000));
        assertEquals("a", index.floor(0x1FFF));
        assertEquals("b", index.floor(0x2000));
        assertEquals("c", index.floor(Long.MAX_VALUE));
    }

    @Test
    void shouldCompareAddressesUnsigned() {
        AddressIndex<String> index = AddressIndex.<String>empty().with(0x8000_0000_0000_0000L, "high").with(16, "low");
        assertEquals("low", index.get(0));
        assertEquals("high", index.floor(-1L));
        assertEquals("low", index.floor(Long.MAX_VALUE));
    }

    @Test
    void shouldLeaveAnIndexUnchangedWhenMakingAChangedOne() {
        AddressIndex<String> one = AddressIndex.<String>empty().with(0x1000, "a");
        AddressIndex<String> two = one.with(0x2000, "b");
        AddressIndex<String> none = two.without("a").without("b");
        assertEquals(1, one.size());
        assertEquals(2, two.size());
        assertEquals(0, none.size());
        assertEquals("a", two.floor(0x1800));
        assertSame(two, two.without("not there"), "nothing removed: the same index");
    }

    @Test
    void shouldDropEveryRegionAPredicateAccepts() {
        AddressIndex<Integer> index = AddressIndex.empty();
        for (int i = 0; i < 10; i++) {
            index = index.with(i * 0x1000L, i);
        }
        AddressIndex<Integer> odd = index.withoutIf(i -> i % 2 == 0);
        assertEquals(5, odd.size());
        assertEquals(1, odd.floor(0x1FFF));
        assertEquals(1, odd.floor(0x2FFF), "the even region's addresses fall to the one below");
        assertNull(odd.floor(0x0FFF));
    }

    @Test
    void shouldAgreeWithATreeMapOverRandomChanges() {
        SplittableRandom random = new SplittableRandom(7);
        TreeMap<Long, Long> model = new TreeMap<>();
        AddressIndex<Long> index = AddressIndex.empty();
        for (int i = 0; i < 3000; i++) {
            long base = random.nextLong(1, 1 << 20) << 12;
            if (random.nextInt(3) > 0 && !model.containsKey(base)) {
                Long region = base; // a distinct object per region: without() compares identity
                model.put(base, region);
                index = index.with(base, region);
            } else if (!model.isEmpty()) {
                Map.Entry<Long, Long> gone = model.floorEntry(base) != null ? model.floorEntry(base) : model.firstEntry();
                model.remove(gone.getKey());
                index = index.without(gone.getValue());
            }
            long probe = random.nextLong(0, (1L << 32) + 4096);
            Map.Entry<Long, Long> expected = model.floorEntry(probe);
            assertEquals(expected == null ? null : expected.getValue(), index.floor(probe), "at " + probe);
            assertEquals(model.size(), index.size());
        }
    }
}
