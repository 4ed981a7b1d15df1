// stacks_new.cpp - the game's global operator new and delete routed to wwmem.h's Alloc and Free, in a file
// of their own as wwmem.h shows: at -O2, Alloc and pm_ww_alloc are inlined into operator new, so the frame
// that calls the layer is operator new's with lines of wwmem.h in it.
#include <new>

#include "compat/wwmem.h"

void *operator new(std::size_t size) {
    void *block = Alloc(size == 0 ? 1 : (unsigned long) size, MEM_NEW);
    if (block == nullptr) {
        throw std::bad_alloc();
    }
    return block;
}
void *operator new[](std::size_t size) {
    void *block = Alloc(size == 0 ? 1 : (unsigned long) size, MEM_NEW);
    if (block == nullptr) {
        throw std::bad_alloc();
    }
    return block;
}
void *operator new(std::size_t size, const std::nothrow_t &) noexcept {
    return Alloc(size == 0 ? 1 : (unsigned long) size, MEM_NEW);
}
void *operator new[](std::size_t size, const std::nothrow_t &) noexcept {
    return Alloc(size == 0 ? 1 : (unsigned long) size, MEM_NEW);
}
void operator delete(void *block) noexcept { Free(block); }
void operator delete[](void *block) noexcept { Free(block); }
void operator delete(void *block, std::size_t) noexcept { Free(block); }
void operator delete[](void *block, std::size_t) noexcept { Free(block); }
