package org.platformmemory.api;

/**
 * Creates one kind of backend. Found with {@link java.util.ServiceLoader} (a {@code provides} clause on
 * the module path, {@code META-INF/services} on the class path) and chosen by name with the
 * {@code allocator.backend} setting.
 *
 * <p>A provider reads its own settings under {@code allocator.<name>.*} from the config it is given,
 * through the config's validating getters; a setting under that prefix that it never reads is
 * reported as unknown.
 */
public interface AllocatorProvider {

    /** The short name that selects this backend: lower case, such as {@code "arena"}. */
    String name();

    /** One line saying what this backend is, for listings and error messages. */
    String description();

    /**
     * Creates a backend.
     *
     * @throws InvalidConfigException if one of its settings is malformed
     */
    Allocator create(AllocatorConfig config);
}
