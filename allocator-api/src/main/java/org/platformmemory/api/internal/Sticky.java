package org.platformmemory.api.internal;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.SwitchPoint;

/**
 * A process-wide flag that starts off and, once turned on, stays on: for a feature that costs its callers
 * a check on every call until somebody uses it. Held in a {@code static final} field, {@link #on} compiles
 * to the constant {@code false} until {@link #turnOn} (a {@link SwitchPoint}: turning it on deoptimizes the
 * code that folded it, once), where a {@code volatile} flag would be read, and would order the loads
 * around it, on every call. Its fields are final fields of a record, which the JIT trusts as constants.
 *
 * <p>The flag itself may only say "off" while the feature is off everywhere in the process: a caller
 * checks its own (per-instance) state after {@code on()} says the feature has been used somewhere.
 */
public record Sticky(SwitchPoint point, MethodHandle test) {

    /** A new flag, off. */
    public static Sticky create() {
        SwitchPoint point = new SwitchPoint();
        MethodHandle test = point.guardWithTest(MethodHandles.constant(boolean.class, false),
            MethodHandles.constant(boolean.class, true));
        return new Sticky(point, test);
    }

    /** Whether it has been turned on. */
    public boolean on() {
        try {
            return (boolean) test.invokeExact();
        } catch (Throwable impossible) { // two constants: nothing can throw
            throw new AssertionError(impossible);
        }
    }

    /** Turns it on, for good; when this returns, every thread's {@link #on} says so. Only the first call costs anything. */
    public void turnOn() {
        if (!point.hasBeenInvalidated()) {
            SwitchPoint.invalidateAll(new SwitchPoint[] {point});
        }
    }
}
