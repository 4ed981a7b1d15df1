package org.platformmemory.agrona;

import org.agrona.BufferUtil;
import org.platformmemory.api.Allocator;
import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.AllocatorProvider;
import org.platformmemory.api.InvalidConfigException;

/**
 * Provides {@code agrona}: an off-heap slab allocator on Agrona (see {@link SlabAllocator}), with its
 * settings under {@code allocator.agrona.*} (see {@link SlabSettings}).
 *
 * <p>Agrona uses {@code jdk.internal.misc.Unsafe}; without
 * {@code --add-exports java.base/jdk.internal.misc=ALL-UNNAMED} (or {@code =org.agrona} on the module
 * path) {@link #create} fails with a message naming that flag.
 */
public final class AgronaAllocatorProvider implements AllocatorProvider {

    static final String NAME = "agrona";
    static final String REQUIRED_FLAG = "--add-exports java.base/jdk.internal.misc=ALL-UNNAMED";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "off-heap slabs of fixed-size slots on Agrona buffers behind per-thread magazines (needs "
            + REQUIRED_FLAG + ")";
    }

    /**
     * @throws InvalidConfigException if a setting is malformed, or the JVM lacks the flag Agrona needs
     */
    @Override
    public Allocator create(AllocatorConfig config) {
        SlabSettings settings = SlabSettings.from(config);
        requireUnsafeAccess();
        return new SlabAllocator(settings);
    }

    private static void requireUnsafeAccess() {
        try {
            if (BufferUtil.NATIVE_BYTE_ORDER == null) {
                throw new IllegalStateException("Agrona did not initialise");
            }
        } catch (LinkageError e) {
            throw new InvalidConfigException("backend '" + NAME + "' needs the JVM flag " + REQUIRED_FLAG
                + " (on the module path: --add-exports java.base/jdk.internal.misc=org.agrona), because"
                + " Agrona uses jdk.internal.misc.Unsafe; the JVM said: " + e);
        }
    }
}
