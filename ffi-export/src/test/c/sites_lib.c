/* A shared object whose static function allocates: test_sites finds it named in the leak report, though
 * dladdr cannot see it (it is not exported). */
#include "platform_memory.h"

static __attribute__((noinline)) void *library_make_part(size_t size) {
    void *p = Platform_Alloc(size, PLATFORM_MEM_NORMAL);
    __asm__ volatile("" ::: "memory"); /* keeps the call a call, not a tail jump */
    return p;
}

/* Leaks one block from library_make_part and returns it. */
void *sites_library_leak(size_t size) {
    void *p = library_make_part(size);
    __asm__ volatile("" ::: "memory");
    return p;
}
