package org.platformmemory.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The JVM flags every launch passes: the repository's {@code config/jvm.options} (the one list), packed
 * into this jar by the build. Used for the JMH forks ({@link BenchMain}) and ArenaFootprint's children.
 */
public final class JvmOptions {

    /** Where the build puts the copy of config/jvm.options. */
    static final String RESOURCE = "/org/platformmemory/bench/jvm.options";

    private JvmOptions() {
    }

    /** The flags, one per element; comments ({@code #} to the end of a line) and blank lines dropped. */
    public static List<String> read() {
        try (InputStream in = JvmOptions.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is missing from the benchmark jar (config/jvm.options)");
            }
            List<String> flags = new ArrayList<>();
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                int comment = line.indexOf('#');
                String text = (comment >= 0 ? line.substring(0, comment) : line).strip();
                for (String word : text.split("\\s+")) {
                    if (!word.isEmpty()) {
                        flags.add(word);
                    }
                }
            }
            return flags;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
