package org.platformmemory.bench;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * The benchmark jar's main class: JMH's command line, with every fork started with the flags of
 * config/jvm.options ({@link JvmOptions}) in front of any {@code -jvmArgsPrepend} given, so
 * {@code java -jar benchmarks.jar FacadeBenchmark} and {@code bin/bench -- FacadeBenchmark} fork alike.
 * (JMH's annotations take only constants, so {@code @Fork} names no flags.)
 */
public final class BenchMain {

    private BenchMain() {
    }

    public static void main(String[] args) throws Exception {
        CommandLineOptions command = new CommandLineOptions(args);
        if (command.shouldHelp() || command.shouldList() || command.shouldListWithParams()
            || command.shouldListProfilers() || command.shouldListResultFormats()) {
            org.openjdk.jmh.Main.main(args);
            return;
        }
        List<String> prepend = new ArrayList<>(JvmOptions.read());
        Collection<String> given = command.getJvmArgsPrepend().orElse(List.of());
        prepend.addAll(given);
        Options options = new OptionsBuilder().parent(command).jvmArgsPrepend(prepend.toArray(String[]::new)).build();
        try {
            new Runner(options).run();
        } catch (RunnerException e) {
            System.err.println("ERROR: " + e.getMessage());
            System.exit(1);
        }
    }
}
