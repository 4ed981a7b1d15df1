/*
 * pm_clients.h - what the C side (pm_clients.c: Lua, SQLite) and the C++ side (pm_client_game.cpp:
 * global operator new/delete and the game loop) of the client benchmark share: the call counter, the
 * per-call sampling and the cycle counter. Valid C99 and C++17.
 *
 * Which allocator the hooks call is fixed when the program is built, one executable per subject kind:
 *   PM_CLIENT_ABI       the backends through the C ABI (Platform_Alloc..., and the game's Alloc/Free
 *                       from compat/wwmem.h for operator new); the backend comes from --subject
 *   PM_CLIENT_GLIBC     this process's malloc (glibc)
 *   PM_CLIENT_JEMALLOC  malloc/free linked from jemalloc
 *   PM_CLIENT_MIMALLOC  mi_malloc/mi_free
 */
#ifndef PM_CLIENTS_H
#define PM_CLIENTS_H

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__)
#  include <x86intrin.h>
#else
#  include <time.h>
#endif

#if !defined(PM_CLIENT_ABI) && !defined(PM_CLIENT_GLIBC) && !defined(PM_CLIENT_JEMALLOC) && !defined(PM_CLIENT_MIMALLOC)
#  error "define one of PM_CLIENT_ABI, PM_CLIENT_GLIBC, PM_CLIENT_JEMALLOC, PM_CLIENT_MIMALLOC"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Allocator calls the hooks made (allocations, frees, resizes; not size queries). The clients are
 * single-threaded. */
extern uint64_t pm_client_calls;

/* Non-zero while a sampled pass runs: every hooked call is timed until the sample buffer is full. */
extern int pm_client_sampling;

/* Records one call that took t1 - t0 ticks. */
void pm_client_record(uint64_t t0, uint64_t t1);

/* The C++ client: frames of a game loop whose every new/delete goes to the subject. Returns a digest
 * of the final game state (the same for every subject, or the work differed). */
uint64_t pm_client_game(unsigned frames);

#ifdef __cplusplus
}
#endif

static inline uint64_t pm_ticks(void) {
#if defined(__x86_64__)
    unsigned aux;
    return __rdtscp(&aux);
#else
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t) t.tv_sec * 1000000000u + (uint64_t) t.tv_nsec;
#endif
}

/* Wraps one allocator call: counted, and timed while sampling. */
#define PM_CLIENT_CALL(result, call)                                                                       \
    do {                                                                                                   \
        if (pm_client_sampling) {                                                                          \
            uint64_t pm_t0_ = pm_ticks();                                                                  \
            result = call;                                                                                 \
            pm_client_record(pm_t0_, pm_ticks());                                                          \
        } else {                                                                                           \
            result = call;                                                                                 \
        }                                                                                                  \
        pm_client_calls++;                                                                                 \
    } while (0)

#define PM_CLIENT_VOID_CALL(call)                                                                          \
    do {                                                                                                   \
        if (pm_client_sampling) {                                                                          \
            uint64_t pm_t0_ = pm_ticks();                                                                  \
            call;                                                                                          \
            pm_client_record(pm_t0_, pm_ticks());                                                          \
        } else {                                                                                           \
            call;                                                                                          \
        }                                                                                                  \
        pm_client_calls++;                                                                                 \
    } while (0)

#endif /* PM_CLIENTS_H */
