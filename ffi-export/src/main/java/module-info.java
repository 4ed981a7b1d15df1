/**
 * The C boundary: FFM upcall stubs for every function of the C ABI, installed into the C shim
 * (libplatform_memory.so) by {@link org.platformmemory.ffi.NativeExports#install}.
 */
module org.platformmemory.ffi {
    requires org.platformmemory.api;

    exports org.platformmemory.ffi;
}
