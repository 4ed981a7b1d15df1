package org.platformmemory.api.internal;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StickyTest {

    private static final Sticky FLAG = Sticky.create(); // a constant, as its users hold it

    @Test
    void shouldStartOffAndStayOnOnceTurnedOn() {
        Sticky flag = Sticky.create();
        assertFalse(flag.on());
        flag.turnOn();
        assertTrue(flag.on());
        flag.turnOn();
        assertTrue(flag.on(), "a second turn changes nothing");
        assertFalse(Sticky.create().on(), "each flag is its own");
    }

    @Test
    void shouldReachALoopThatTheJitCompiledWithTheFlagOff() throws InterruptedException {
        CountDownLatch spinning = new CountDownLatch(1);
        AtomicBoolean saw = new AtomicBoolean();
        Thread spinner = new Thread(() -> {
            long spins = 0;
            while (!FLAG.on()) { // compiled (OSR) with the flag folded to false: the switch must deoptimize it
                if (++spins == 1_000_000) {
                    spinning.countDown();
                }
            }
            saw.set(true);
        });
        spinner.setDaemon(true);
        spinner.start();
        assertTrue(spinning.await(30, TimeUnit.SECONDS));
        Thread.sleep(200); // long enough for the loop to be compiled
        FLAG.turnOn();
        spinner.join(TimeUnit.SECONDS.toMillis(30));
        assertTrue(saw.get(), "the spinning thread saw the flag turn on");
    }
}
