package org.platformmemory.api.contract;

import java.util.HashMap;
import java.util.Map;

import org.platformmemory.api.Allocator;
import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.Backends;
import org.platformmemory.api.Tracking;
import org.platformmemory.api.TrackedAllocator;

/**
 * What the contract suite needs from a backend module: its name and any settings. Subclass one of the
 * suites ({@link AllocatorContractTest}, {@link AllocatorModelProperties}, {@link AllocatorStressTest}).
 */
public abstract class BackendUnderTest {

    /** The provider name under test, such as {@code "system"}. */
    protected abstract String backendName();

    /** Extra {@code allocator.*} settings for every facade the suite opens. */
    protected Map<String, String> settings() {
        return Map.of();
    }

    /** A config selecting the backend with its settings and {@code extra} on top. */
    protected final AllocatorConfig config(Map<String, String> extra) {
        Map<String, String> all = new HashMap<>(settings());
        all.putAll(extra);
        all.put(AllocatorConfig.BACKEND, backendName());
        return AllocatorConfig.of(all);
    }

    /** A facade in front of the backend, with {@code extra} settings such as a limit or tracking mode. */
    protected final TrackedAllocator open(Map<String, String> extra) {
        TrackedAllocator memory = TrackedAllocator.open(config(extra));
        if (!memory.backendName().equals(backendName())) {
            throw new AssertionError("asked for backend " + backendName() + ", got " + memory.backendName());
        }
        return memory;
    }

    /** A facade in counters mode with no limit. */
    protected final TrackedAllocator open() {
        return open(Map.of());
    }

    /** The bare backend, wrapped so that what is outstanding at the backend can be counted. */
    protected final CountingAllocator countingBackend() {
        Allocator backend = Backends.create(config(Map.of()));
        return new CountingAllocator(backend);
    }

    /** A facade over a counting backend. */
    protected final TrackedAllocator openCounted(CountingAllocator backend, Tracking tracking, long limit) {
        return TrackedAllocator.wrap(backend, tracking, limit);
    }
}
