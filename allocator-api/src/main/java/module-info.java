/**
 * The allocator SPI, backend selection and the tracked facade.
 *
 * <p>Backends implement {@link org.platformmemory.api.AllocatorProvider} and are found with
 * {@link java.util.ServiceLoader}; callers use {@link org.platformmemory.api.TrackedAllocator}.
 */
module org.platformmemory.api {
    requires jdk.management;

    exports org.platformmemory.api;

    uses org.platformmemory.api.AllocatorProvider;

    provides org.platformmemory.api.AllocatorProvider
        with org.platformmemory.api.internal.SystemAllocatorProvider;
}
