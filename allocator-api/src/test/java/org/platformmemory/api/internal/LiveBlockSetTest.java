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
        for (int i = 0; i < 200_000; i++) {
            // addresses on a few alignments, clustered as an allocator's would be
            long address = (random.nextLong(1, 50_000) << (4 + random.nextInt(3) * 4));
            if (random.nextBoolean()) {
                set.add(address);
                model.add(address);
            } else {
                assertEquals(model.remove(address), set.remove(address), "remove " + address);
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
        assertEquals(model.size(), set.drain().length);
        assertEquals(0, set.size());
    }

    @Test
    void shouldRememberRecentlyRemovedAddressesUntilTheyAreLiveAgain() {
        LiveBlockSet set = new LiveBlockSet(1);
        set.add(0x1000);
        assertFalse(set.recentlyRemoved(0x1000));
        assertTrue(set.remove(0x1000));
        assertFalse(set.remove(0x1000), "the second remove fails");
        assertTrue(set.recentlyRemoved(0x1000));
        set.add(0x1000);
        assertFalse(set.recentlyRemoved(0x1000), "live again");
        assertEquals(0x1000 + 1, set.readIfLive(0x1000, a -> a + 1, -1));
        assertEquals(-1, set.readIfLive(0x2000, a -> a + 1, -1));
    }
}
