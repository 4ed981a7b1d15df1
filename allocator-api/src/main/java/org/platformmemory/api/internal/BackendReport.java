package org.platformmemory.api.internal;

import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.Backends;
import org.platformmemory.api.InvalidConfigException;
import org.platformmemory.api.TrackedAllocator;

/**
 * {@code java ... org.platformmemory.api.internal.BackendReport [options]}: lists the backends this
 * class or module path provides, then opens the one the settings select, allocates and frees one block
 * through it, and prints what it used. Exits with 2 and the configuration error when the settings are bad.
 */
public final class BackendReport {

    private BackendReport() {
    }

    public static void main(String[] args) {
        try {
            Backends.available().forEach((name, provider) ->
                System.out.println("backend " + name + ": " + provider.description()));
            AllocatorConfig config = AllocatorConfig.parse(String.join(";", args));
            try (TrackedAllocator memory = TrackedAllocator.open(config)) {
                long p = memory.allocate(64, 0);
                memory.free(p, 0);
                System.out.println("selected " + memory.backendName() + " (tracking "
                    + memory.tracking().name().toLowerCase(java.util.Locale.ROOT) + "): allocate+free "
                    + (p != 0 && memory.liveBytes() == 0 ? "ok" : "FAILED"));
            }
        } catch (InvalidConfigException e) {
            System.err.println("platform-memory: " + e.getMessage());
            System.exit(2);
        }
    }
}
