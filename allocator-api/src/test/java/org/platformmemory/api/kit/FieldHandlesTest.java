package org.platformmemory.api.kit;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FieldHandlesTest {

    private volatile long counter;

    @Test
    void shouldReachAPrivateFieldThroughTheCallersLookup() {
        VarHandle h = FieldHandles.field(MethodHandles.lookup(), FieldHandlesTest.class, "counter", long.class);
        assertEquals(0L, (long) h.getAndAdd(this, 5L));
        assertTrue(h.compareAndSet(this, 5L, 7L));
        assertEquals(7L, counter);
    }

    @Test
    void shouldNameTheFieldThatIsNotThere() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> FieldHandles.field(MethodHandles.lookup(), FieldHandlesTest.class, "counter", int.class));
        assertTrue(e.getMessage().contains("FieldHandlesTest.counter"), e.getMessage());
        assertThrows(IllegalStateException.class,
            () -> FieldHandles.field(MethodHandles.lookup(), FieldHandlesTest.class, "missing", long.class));
    }
}
