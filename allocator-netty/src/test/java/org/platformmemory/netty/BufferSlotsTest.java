package org.platformmemory.netty;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BufferSlotsTest {

    private final List<Integer> released = new ArrayList<>();
    private final BufferSlots slots = new BufferSlots(2, released::add);
    private final ByteBuf buffer = Unpooled.buffer(1);

    @Test
    void shouldGiveEachHeldBufferADistinctSlotAcrossPages() {
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 10_000; i++) {
            int slot = slots.put(buffer);
            assertTrue(seen.add(slot), "slot " + slot + " handed out twice");
            assertSame(buffer, slots.get(slot));
        }
        assertEquals(10_000, slots.held());
    }

    @Test
    void shouldReleaseTheCachesOfEndedThreadsWithoutWaitingForAGarbageCollection() throws Exception {
        List<ByteBuf> buffers = new ArrayList<>();
        for (int t = 0; t < 20; t++) {
            ByteBuf mine = Unpooled.directBuffer(64);
            buffers.add(mine);
            Thread shortLived = Thread.ofPlatform().start(() -> {
                slots.cache(slots.put(mine), 3); // kept in the ended thread's cache
            });
            shortLived.join();
        }
        // the threads have ended but may not be collected: a new thread retires them when it arrives
        Thread.ofPlatform().start(() -> slots.remove(slots.put(buffer))).join();
        assertEquals(0, slots.cached(), "no cache of an ended thread is left");
        for (ByteBuf b : buffers) {
            assertEquals(0, b.refCnt(), "each cached buffer went back (released)");
        }
        assertEquals(0, slots.held());
    }

    @Test
    void shouldReuseAFreedSlot() {
        int slot = slots.put(buffer);
        slots.remove(slot);
        assertNull(slots.get(slot));
        assertEquals(slot, slots.put(buffer));
    }

    @Test
    void shouldAnswerNullForASlotOutOfRange() {
        assertNull(slots.get(-1));
        assertNull(slots.get(Integer.MAX_VALUE));
        assertNull(slots.get(5));
    }

    @Test
    void shouldNotGrowWhenOneThreadFreesWhatAnotherTook() throws Exception {
        for (int round = 0; round < 20; round++) {
            List<Integer> taken = new ArrayList<>();
            Thread taker = Thread.ofPlatform().start(() -> {
                for (int i = 0; i < 1000; i++) {
                    taken.add(slots.put(buffer));
                }
            });
            taker.join();
            taken.forEach(slots::remove);
        }
        assertEquals(0, slots.held());
        // the slots of ended threads and those freed here are reused: 20 rounds of 1000 need far fewer than 20000 slots
        assertTrue(slots.capacity() < 6000, "capacity " + slots.capacity());
    }

    @Test
    void shouldReleaseEveryHeldAndCachedBufferWhenDrained() {
        List<ByteBuf> buffers = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            ByteBuf b = Unpooled.directBuffer(16);
            buffers.add(b);
            int slot = slots.put(b);
            if (i < 2) {
                slots.cache(slot, 0);
            }
        }
        assertEquals(2, slots.cached());
        assertEquals(298, slots.drain());
        assertEquals(0, slots.held());
        assertEquals(0, slots.cached());
        buffers.forEach(b -> assertEquals(0, b.refCnt()));
    }

    @Test
    void shouldHandBackACachedBufferOfTheSameClassOnlyOnTheSameThread() throws Exception {
        int slot = slots.put(buffer);
        slots.cache(slot, 5);
        assertEquals(-1, slots.takeCached(4));
        int[] elsewhere = new int[1];
        Thread other = Thread.ofPlatform().start(() -> elsewhere[0] = slots.takeCached(5));
        other.join();
        assertEquals(-1, elsewhere[0]);
        assertEquals(slot, slots.takeCached(5));
        assertSame(buffer, slots.get(slot));
        assertEquals(-1, slots.takeCached(5));
    }

    /** Beyond its depth a class's cache gives its older half back to Netty: released, slot freed, counted. */
    @Test
    void shouldGiveTheOlderHalfBackBeyondItsDepth() {
        ByteBuf first = Unpooled.directBuffer(48);
        ByteBuf second = Unpooled.directBuffer(48);
        ByteBuf third = Unpooled.directBuffer(48);
        int a = slots.put(first);
        int b = slots.put(second);
        int c = slots.put(third);
        slots.cache(a, 3);
        slots.cache(b, 3);
        assertTrue(released.isEmpty());
        slots.cache(c, 3);
        assertEquals(0, first.refCnt(), "the oldest went back to Netty");
        assertNull(slots.get(a));
        assertEquals(List.of(48), released);
        assertEquals(2, slots.cached());
        assertEquals(c, slots.takeCached(3));
        assertEquals(b, slots.takeCached(3));
        assertEquals(-1, slots.takeCached(3));
        assertEquals(1, second.refCnt());
    }

    /**
     * A trim gives this thread's cached buffers back now, and another thread's when that thread next finds
     * a class's stack empty (or full); a take its cache serves keeps the rest cached.
     */
    @Test
    void shouldTrimEveryThreadsCacheOnItsNextMiss() throws Exception {
        ByteBuf here = Unpooled.directBuffer(32);
        ByteBuf there = Unpooled.directBuffer(32);
        ByteBuf served = Unpooled.directBuffer(48);
        slots.cache(slots.put(here), 1);
        CountDownLatch cached = new CountDownLatch(1);
        CountDownLatch trimmed = new CountDownLatch(1);
        int[] seen = new int[6];
        Thread other = Thread.ofPlatform().start(() -> {
            slots.cache(slots.put(there), 1);
            int servedSlot = slots.put(served);
            slots.cache(servedSlot, 2);
            cached.countDown();
            try {
                trimmed.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            seen[0] = there.refCnt();
            seen[1] = slots.takeCached(2) == servedSlot ? 1 : 0;
            seen[2] = there.refCnt();
            slots.remove(servedSlot);
            seen[3] = slots.takeCached(2);
            seen[4] = there.refCnt();
            seen[5] = slots.takeCached(1);
        });
        cached.await();
        slots.trim();
        assertEquals(0, here.refCnt(), "this thread's cache went back at once");
        trimmed.countDown();
        other.join();
        assertEquals(1, seen[0], "the other thread's cache kept until it calls again");
        assertEquals(1, seen[1], "its cache serves a take");
        assertEquals(1, seen[2], "and keeps the rest cached while it serves");
        assertEquals(-1, seen[3], "its next take misses");
        assertEquals(0, seen[4], "and the miss gave the cache back first");
        assertEquals(-1, seen[5], "nothing left cached");
        assertEquals(1, served.refCnt(), "the served buffer was in use, not cached");
        served.release();
        assertEquals(0, slots.cached());
    }
}
