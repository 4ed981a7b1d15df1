/*
 * stacks_game.c - libstacks_game.so for test_stacks: game code in a shared object of its own, built with
 * debug information, whose allocating function is static (in .symtab and the DWARF, not in .dynsym: dladdr
 * cannot name it). The exported entry comes first in the file, so the nearest exported symbol below the
 * static function is the entry: a name dladdr would wrongly give it.
 */
#include "platform_memory.h"

#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

__attribute__((visibility("default"))) int stacks_game_static_line, stacks_game_entry_line;

static void *game_static_alloc(size_t size);

/* Allocates size bytes through the static function. */
__attribute__((visibility("default"))) void *stacks_game_alloc(size_t size) {
    stacks_game_entry_line = __LINE__; void *p = game_static_alloc(size);
    KEEP_FRAME();
    return p;
}

static __attribute__((noinline)) void *game_static_alloc(size_t size) {
    stacks_game_static_line = __LINE__; void *p = Platform_Alloc(size, PLATFORM_MEM_NORMAL);
    KEEP_FRAME();
    return p;
}
