/**
 * The C boundary: FFM upcall stubs for every function of the C ABI, installed into the C shim
 * (libplatform_memory.so) by {@link org.platformmemory.ffi.NativeExports#install}.
 */
module org.platformmemory.ffi {
    requires org.platformmemory.api;
    // FlightRecordings: writes running JFR recordings at Platform_Mem_Shutdown
    requires jdk.jfr;

    exports org.platformmemory.ffi;
}
