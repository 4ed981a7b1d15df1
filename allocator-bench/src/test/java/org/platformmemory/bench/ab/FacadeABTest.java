package org.platformmemory.bench.ab;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.platformmemory.api.TrackedAllocator;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** That the side-by-side tool loads two builds and reports both (what it measures is for a benchmark run, not a test). */
class FacadeABTest {

    private static String apiBuild() throws Exception {
        return Path.of(TrackedAllocator.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }

    private static String run(String... args) throws Exception {
        PrintStream out = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            FacadeAB.main(args);
        } finally {
            System.setOut(out);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }

    @Test
    void reportsBothBuildsAndTheirRatio() throws Exception {
        String api = apiBuild();
        for (String mode : new String[] {"counters", "bare", "ring", "bareRing"}) {
            String printed = run("--backend", "system", "--mode", mode, "--bursts", "4", "--pairs", "1000", api, api);
            assertTrue(printed.contains("system " + mode + " A: median "), printed);
            assertTrue(printed.contains("system " + mode + " B: median "), printed);
            assertTrue(printed.matches("(?s).*B/A: median \\d+\\.\\d{3} \\(quartiles .*over 4 bursts.*"), printed);
        }
    }

    @Test
    void aBadCommandLineIsRefusedWithTheUsage() throws Exception {
        String api = apiBuild();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> FacadeAB.main(new String[] {"--backend", "system", "--mode", "leaks", api, api}));
        assertTrue(e.getMessage().startsWith("usage: FacadeAB"), e.getMessage());
    }

    @Test
    void aBuildThatDoesNotExistIsNamed() throws Exception {
        String api = apiBuild();
        IOException e = assertThrows(IOException.class, () -> FacadeAB.main(new String[] {"--backend", "system",
            api, api + ":/no/such/build.jar"}));
        assertTrue(e.getMessage().contains("/no/such/build.jar"), e.getMessage());
    }
}
