package org.platformmemory.api;

import java.util.Collections;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/**
 * Finds backends with {@link ServiceLoader} and creates the one a config selects.
 *
 * <pre>{@code
 * Allocator backend = Backends.create(AllocatorConfig.fromEnvironment()); // allocator.backend, else the default
 * }</pre>
 */
public final class Backends {

    /** The backend used when {@code allocator.backend} is not set. */
    public static final String DEFAULT = "arena";

    private Backends() {
    }

    /**
     * Every provider visible to this module's class loader (or module layer), by name, in name order.
     * Found once per process, on first use (the providers a class loader sees do not change; finding them
     * opens every jar on the class path).
     *
     * @return an unmodifiable map
     * @throws InvalidConfigException if two providers claim the same name
     */
    public static Map<String, AllocatorProvider> available() {
        Found found = Found.ONCE;
        if (found.duplicate() != null) {
            throw new InvalidConfigException(found.duplicate());
        }
        return found.byName();
    }

    /** The providers ServiceLoader finds, or why they cannot be used (two claim one name). */
    private record Found(Map<String, AllocatorProvider> byName, String duplicate) {

        static final Found ONCE = find();

        private static Found find() {
            Map<String, AllocatorProvider> byName = new TreeMap<>();
            for (AllocatorProvider provider : ServiceLoader.load(AllocatorProvider.class,
                    Backends.class.getClassLoader())) {
                AllocatorProvider earlier = byName.putIfAbsent(provider.name(), provider);
                if (earlier != null && earlier.getClass() != provider.getClass()) {
                    return new Found(Map.of(), "two backends are named '" + provider.name() + "': "
                        + earlier.getClass().getName() + " and " + provider.getClass().getName());
                }
            }
            return new Found(Collections.unmodifiableMap(byName), null);
        }
    }

    /**
     * The provider for {@code name}.
     *
     * @throws InvalidConfigException naming every available backend if there is none by that name
     */
    public static AllocatorProvider provider(String name) {
        Map<String, AllocatorProvider> all = available();
        AllocatorProvider provider = all.get(name);
        if (provider == null) {
            throw new InvalidConfigException(AllocatorConfig.BACKEND + ": unknown backend '" + name
                + "'; available backends: " + String.join(", ", all.keySet())
                + " (set it with -D" + AllocatorConfig.BACKEND + "=NAME, the " + AllocatorConfig.BACKEND_ENV
                + " environment variable, or the backend= option)");
        }
        return provider;
    }

    /**
     * Creates the backend {@code config} selects and checks that every {@code allocator.<name>.*}
     * setting was understood.
     *
     * @throws InvalidConfigException for an unknown backend or a malformed or unknown setting
     */
    public static Allocator create(AllocatorConfig config) {
        String name = config.backend(DEFAULT);
        Allocator allocator = provider(name).create(config);
        try {
            config.requireAllRead(AllocatorConfig.PREFIX + name + ".");
        } catch (InvalidConfigException e) {
            allocator.close();
            throw e;
        }
        return allocator;
    }
}
