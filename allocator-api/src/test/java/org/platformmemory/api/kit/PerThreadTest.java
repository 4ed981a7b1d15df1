package org.platformmemory.api.kit;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PerThreadTest {

    private final AtomicInteger made = new AtomicInteger();
    private final List<int[]> retired = new CopyOnWriteArrayList<>();
    private final PerThread<int[]> perThread = new PerThread<>(() -> new int[] {made.incrementAndGet()}, retired::add);

    @Test
    void shouldGiveEachThreadItsOwnStateAndTheSameOneEachTime() throws Exception {
        int[] mine = perThread.current();
        assertSame(mine, perThread.current());
        int[][] theirs = new int[1][];
        Thread.ofPlatform().start(() -> theirs[0] = perThread.current()).join();
        assertNotSame(mine, theirs[0]);
        assertEquals(2, made.get());
    }

    @Test
    void shouldRetireTheStateOfAnEndedThreadOnceWithItsLastWrites() throws Exception {
        int[][] theirs = new int[1][];
        Thread.ofPlatform().start(() -> {
            theirs[0] = perThread.current();
            theirs[0][0] = -42; // the retire action must see this
        }).join();
        assertEquals(1, perThread.threads());
        assertTrue(perThread.retireEnded());
        assertFalse(perThread.retireEnded(), "retired once only");
        assertEquals(1, retired.size());
        assertSame(theirs[0], retired.get(0));
        assertEquals(-42, retired.get(0)[0]);
        assertEquals(0, perThread.threads());
    }

    @Test
    void shouldNeverRetireTheStateOfALiveThread() {
        perThread.current();
        assertFalse(perThread.retireEnded());
        assertEquals(1, perThread.threads());
        assertTrue(retired.isEmpty());
    }

    @Test
    void shouldRetireEndedThreadsWhenANewThreadArrivesSoChurnLeavesNothingBehind() {
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            for (int i = 0; i < 2000; i++) {
                Thread.ofPlatform().start(perThread::current).join();
                assertTrue(perThread.threads() <= 1, "at most the thread that just ended: " + perThread.threads());
            }
        });
        perThread.retireEnded();
        assertEquals(2000, retired.size(), "every ended thread's state came back");
        assertEquals(0, perThread.threads());
    }

    @Test
    void shouldNotKeepAnEndedThreadReachable() throws Exception {
        Thread thread = Thread.ofPlatform().start(perThread::current);
        thread.join();
        java.lang.ref.WeakReference<Thread> ref = new java.lang.ref.WeakReference<>(thread);
        thread = null;
        for (int i = 0; i < 50 && ref.get() != null; i++) {
            System.gc();
            Thread.sleep(10);
        }
        assertEquals(null, ref.get(), "the registration holds its thread weakly");
        assertTrue(perThread.retireEnded(), "a collected thread counts as ended");
    }

    @Test
    void shouldShowEveryRegisteredState() throws Exception {
        perThread.current();
        Thread.ofPlatform().start(perThread::current).join();
        List<int[]> seen = new ArrayList<>();
        perThread.forEach(seen::add);
        assertEquals(2, seen.size());
    }

    @Test
    void shouldRetireEveryStateWhenAllAreRetiredAndForgetWithoutRetiring() throws Exception {
        int[] mine = perThread.current();
        Thread.ofPlatform().start(perThread::current).join();
        perThread.retireAll();
        assertEquals(2, retired.size());
        assertEquals(0, perThread.threads());
        assertNotSame(mine, perThread.current(), "a fresh state after shutdown");
        perThread.forgetAll();
        assertEquals(0, perThread.threads());
        assertEquals(2, retired.size(), "forgetting retires nothing");
        int[] fresh = perThread.current();
        assertNotSame(mine, fresh, "a fresh state after forgetting");
        assertSame(fresh, perThread.get(), "get() is current()");
        assertEquals(1, perThread.threads());
    }

    @Test
    void shouldRefuseAMissingFactoryOrRetireAction() {
        assertThrows(NullPointerException.class, () -> new PerThread<int[]>(null, retired::add));
        assertThrows(NullPointerException.class, () -> new PerThread<>(() -> new int[1], null));
    }

    @Test
    void shouldRefuseStatesSetOrRemovedFromOutsideThePolicy() {
        int[] mine = perThread.current();
        assertThrows(UnsupportedOperationException.class, () -> perThread.set(new int[] {-1}));
        assertThrows(UnsupportedOperationException.class, perThread::remove);
        assertSame(mine, perThread.current(), "the state is untouched");
        assertEquals(1, perThread.threads());
        assertTrue(retired.isEmpty());
    }
}
