package org.platformmemory.ffi;

import java.nio.file.Path;

import jdk.jfr.FlightRecorder;
import jdk.jfr.Recording;
import jdk.jfr.RecordingState;

/**
 * Writes the JDK Flight Recorder's running recordings to their files at {@code Platform_Mem_Shutdown}.
 *
 * <p>JFR writes a recording started with {@code -XX:StartFlightRecording=filename=...} when the JVM shuts
 * down, but the JVM a C host starts is never shut down: the process just exits, and the file stays empty.
 * So the shutdown of the layer writes each running recording that has a file to it (the recording goes
 * on; a later shutdown, or the JVM's own at exit in a Java host, writes it again with what came since).
 */
final class FlightRecordings {

    private FlightRecordings() {
    }

    /** Dumps every running recording with a destination to it; never throws, does nothing when JFR never started. */
    static void dumpRunning() {
        try {
            if (!FlightRecorder.isInitialized()) {
                return; // no recording was ever started: do not start the recorder here
            }
            for (Recording r : FlightRecorder.getFlightRecorder().getRecordings()) {
                Path to = r.getDestination();
                if (to != null && r.getState() == RecordingState.RUNNING) {
                    r.dump(to);
                }
            }
        } catch (Throwable t) {
            // a recording that cannot be written is not worth failing the shutdown for
        }
    }
}
