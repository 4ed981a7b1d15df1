package org.platformmemory.api.kit;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * {@link VarHandle}s on fields, for the atomics of objects that hold a counter or a lock word as a plain
 * field (one load fewer a call than an {@code AtomicLong} beside them). Meant for {@code static final}
 * initializers: a field that is not there is a build error, reported as such.
 */
public final class FieldHandles {

    private FieldHandles() {
    }

    /**
     * The handle on {@code owner}'s field {@code name} of type {@code type}, looked up with {@code lookup}
     * (the caller's {@code MethodHandles.lookup()}, which may see its own private fields).
     *
     * @throws IllegalStateException when there is no such field visible to {@code lookup}
     */
    public static VarHandle field(MethodHandles.Lookup lookup, Class<?> owner, String name, Class<?> type) {
        try {
            return lookup.findVarHandle(owner, name, type);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("no field " + owner.getName() + "." + name + " of type " + type, e);
        }
    }
}
