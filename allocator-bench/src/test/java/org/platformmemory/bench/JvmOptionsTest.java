package org.platformmemory.bench;

import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The one list of JVM flags (config/jvm.options, packed into this module): what it names must exist. */
class JvmOptionsTest {

    private static final String INLINE = "-XX:CompileCommand=inline,";

    @Test
    void shouldNameOnlyMethodsThatExistInItsInliningCommandsAndKeepThemQuiet() throws ClassNotFoundException {
        List<String> flags = JvmOptions.read();
        List<String> inline = flags.stream().filter(f -> f.startsWith(INLINE)).toList();
        assertFalse(inline.isEmpty(), "the facade's entry points are named for C2 to inline");
        int quiet = flags.indexOf("-XX:CompileCommand=quiet");
        assertTrue(quiet >= 0 && quiet < flags.indexOf(inline.getFirst()),
            "-XX:CompileCommand=quiet comes first, or the JVM echoes each command on the game's stdout");
        for (String flag : inline) {
            String target = flag.substring(INLINE.length());
            int colons = target.indexOf("::");
            Class<?> type = Class.forName(target.substring(0, colons));
            String name = target.substring(colons + 2);
            assertTrue(Arrays.stream(type.getDeclaredMethods()).map(Method::getName).anyMatch(name::equals),
                flag + ": " + type.getName() + " has no method " + name + " (renamed? update config/jvm.options)");
        }
    }
}
