package org.platformmemory.api;

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
     * Every provider visible to this module's class loader (or module layer), by name.
     *
     * @throws InvalidConfigException if two providers claim the same name
     */
    public static Map<String, AllocatorProvider> available() {
        Map<String, AllocatorProvider> byName = new TreeMap<>();
        for (AllocatorProvider provider : ServiceLoader.load(AllocatorProvider.class,
                Backends.class.getClassLoader())) {
            AllocatorProvider earlier = byName.putIfAbsent(provider.name(), provider);
            if (earlier != null && earlier.getClass() != provider.getClass()) {
                throw new InvalidConfigException("two backends are named '" + provider.name() + "': "
                    + earlier.getClass().getName() + " and " + provider.getClass().getName());
            }
        }
        return byName;
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
