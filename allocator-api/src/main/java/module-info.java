/**
 * The allocator SPI, backend selection and the tracked facade.
 *
 * <p>Backends implement {@link org.platformmemory.api.AllocatorProvider} and are found with
 * {@link java.util.ServiceLoader}; callers use {@link org.platformmemory.api.TrackedAllocator}.
 */
module org.platformmemory.api {
    requires jdk.management;
    // the live view's server (allocator.insights): the JDK's own HTTP server, no new dependency
    requires jdk.httpserver;
    // JFR events (package org.platformmemory.api.jfr, not exported: JFR exports and opens an event's package to itself)
    requires jdk.jfr;

    exports org.platformmemory.api;
    exports org.platformmemory.api.view;
    // the machinery backends share (size classes, per-thread caches, address index, native memory):
    // theirs to use, not callers'
    exports org.platformmemory.api.kit to org.platformmemory.arena, org.platformmemory.netty, org.platformmemory.agrona;

    uses org.platformmemory.api.AllocatorProvider;

    provides org.platformmemory.api.AllocatorProvider
        with org.platformmemory.api.internal.SystemAllocatorProvider;
}
