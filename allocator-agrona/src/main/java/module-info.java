/**
 * The {@code agrona} backend: an off-heap slab allocator on Agrona's buffers, queues and primitive
 * collections.
 *
 * <p>Agrona reaches {@code jdk.internal.misc.Unsafe}, so the JVM needs
 * {@code --add-exports java.base/jdk.internal.misc=org.agrona} on the module path
 * ({@code =ALL-UNNAMED} on the class path).
 */
module org.platformmemory.agrona {
    requires org.platformmemory.api;
    requires org.agrona;

    provides org.platformmemory.api.AllocatorProvider
        with org.platformmemory.agrona.AgronaAllocatorProvider;
}
