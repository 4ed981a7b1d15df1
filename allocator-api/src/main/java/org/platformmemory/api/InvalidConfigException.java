package org.platformmemory.api;

import java.io.Serial;

/**
 * A setting is malformed, unknown, or names a backend that is not available. The message names the
 * key, the value given and what is allowed.
 */
public final class InvalidConfigException extends IllegalArgumentException {
    @Serial
    private static final long serialVersionUID = 1L;

    /** Creates the exception with a message that names the key, the value and what is allowed. */
    public InvalidConfigException(String message) {
        super(message);
    }
}
