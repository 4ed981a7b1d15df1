/* The C tests' one assertion: counts passes and failures, prints each failure with its place. */
#ifndef PM_TEST_CHECK_H
#define PM_TEST_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

static int passed, failed;

#define CHECK(cond, ...)                                                         \
    do {                                                                         \
        if (cond) {                                                              \
            passed++;                                                            \
        } else {                                                                 \
            failed++;                                                            \
            fprintf(stderr, "FAILED %s:%d: %s: ", __FILE__, __LINE__, #cond);   \
            fprintf(stderr, __VA_ARGS__);                                        \
            fputc('\n', stderr);                                                 \
        }                                                                        \
    } while (0)

/* Deterministic random numbers for the tests (splitmix64): each stream its own state. */
static inline uint64_t next_random(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* A random number below n. */
static inline size_t below(uint64_t *state, size_t n) {
    return (size_t) (next_random(state) % n);
}

/* The closing line test runners read: "N passed, M failed". Returns the exit status. */
static inline int check_summary(void) {
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

#endif
