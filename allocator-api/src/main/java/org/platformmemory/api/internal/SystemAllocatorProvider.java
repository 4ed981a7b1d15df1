package org.platformmemory.api.internal;

import org.platformmemory.api.Allocator;
import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.AllocatorProvider;

/** Provides {@code system}: the C library's allocator, the reference backend. It has no settings. */
public final class SystemAllocatorProvider implements AllocatorProvider {

    static final String NAME = "system";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "the C library's malloc/aligned_alloc/realloc/free through FFM downcalls (the reference)";
    }

    @Override
    public Allocator create(AllocatorConfig config) {
        return new SystemAllocator();
    }
}
