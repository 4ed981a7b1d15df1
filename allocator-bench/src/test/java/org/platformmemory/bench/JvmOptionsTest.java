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
    private static final String EXCLUDE = "-XX:CompileCommand=exclude,";

    @Test
    void shouldNameOnlyMethodsThatExistInItsCompileCommandsAndKeepThemQuiet() throws ClassNotFoundException {
        List<String> flags = JvmOptions.read();
        List<String> inline = flags.stream().filter(f -> f.startsWith(INLINE)).toList();
        assertFalse(inline.isEmpty(), "the facade's entry points are named for C2 to inline");
        List<String> named = flags.stream().filter(f -> f.startsWith(INLINE) || f.startsWith(EXCLUDE)).toList();
        int quiet = flags.indexOf("-XX:CompileCommand=quiet");
        assertTrue(quiet >= 0 && quiet < flags.indexOf(named.getFirst()),
            "-XX:CompileCommand=quiet comes first, or the JVM echoes each command on the game's stdout");
        // a JDK method (an exclude) is looked up in the JDK running the build, which the SDK bundles
        for (String flag : named) {
            String target = flag.substring(flag.indexOf(',') + 1);
            int colons = target.indexOf("::");
            Class<?> type = Class.forName(target.substring(0, colons));
            String name = target.substring(colons + 2);
            assertTrue(Arrays.stream(type.getDeclaredMethods()).map(Method::getName).anyMatch(name::equals),
                flag + ": " + type.getName() + " has no method " + name + " (renamed? update config/jvm.options)");
        }
    }
}
