/*
 * The compatibility headers as the game uses them, through the real library (C host).
 * Ends with "N passed, M failed".
 */
#include "compat/memory_wrapper.h"
#include "compat/wwmem.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "check.h"

static int zeroes(const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        if (b[i] != 0) {
            return 0;
        }
    }
    return 1;
}

static int memory_errors;
static char exit_message[300];
static void on_memory_error(void) {
    memory_errors++;
}
static void on_memory_error_exit(char *message) {
    snprintf(exit_message, sizeof exit_message, "%s", message);
}

static void virtual_memory(void) {
    unsigned char *v = VirtualAlloc(NULL, 3 * 4096 + 5, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    CHECK(v != NULL && ((uintptr_t) v % 4096) == 0, "page-aligned");
    CHECK(zeroes(v, 3 * 4096 + 5), "zeroed");
    CHECK(VirtualAlloc(v, 4096, MEM_COMMIT, PAGE_READWRITE) == v, "commit inside a reservation");
    CHECK(VirtualLock(v, 4096) && VirtualUnlock(v, 4096), "lock/unlock");
    memset(v, 0x55, 3 * 4096 + 5);
    CHECK(VirtualFree(v, 4096, MEM_DECOMMIT) && zeroes(v, 4096), "decommit zeroes");
    CHECK(v[4096] == 0x55, "only the range");
    CHECK(VirtualFree(v + 8192, 4096, MEM_DECOMMIT) && zeroes(v + 8192, 4096) && v[8191] == 0x55,
          "decommit of pages inside the block");
    CHECK(!VirtualFree(v + 8192, 8192, MEM_DECOMMIT) && v[3 * 4096 + 4] == 0x55,
          "a range past the block's end is refused, nothing zeroed");
    CHECK(VirtualFree(v, 0, MEM_DECOMMIT) && zeroes(v, 3 * 4096 + 5), "size 0 decommits the whole block");
    CHECK(!VirtualFree(v, 4096, MEM_RELEASE), "MEM_RELEASE needs size 0");
    CHECK(!VirtualFree(v + 4096, 0, MEM_RELEASE), "MEM_RELEASE needs the base address");
    CHECK(VirtualFree(v, 0, MEM_RELEASE), "release");
    CHECK(!VirtualFree(v, 0, MEM_RELEASE), "release twice fails");
}

/* This process's anonymous resident memory (RssAnon in /proc/self/status), in bytes; 0 if unreadable. */
static size_t rss_anon(void) {
    FILE *f = fopen("/proc/self/status", "r");
    size_t kib = 0;
    char line[256];
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "RssAnon: %zu kB", &kib) == 1) {
            break;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return kib * 1024;
}

#define MIB ((size_t) 1 << 20)

/* A Windows-style pool: reserved and committed up front, half of it used, then that half decommitted.
 * Resident memory follows what is touched, read from /proc/self; the JVM's own threads move it by a
 * few MiB, so the bounds leave 32 MiB of slack on a 512 MiB pool. */
static void virtual_pool(void) {
    size_t pool = 512 * MIB;
    size_t before = rss_anon();
    unsigned char *v = VirtualAlloc(NULL, pool, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    size_t reserved = rss_anon();
    CHECK(v != NULL && before > 0, "a 512 MiB reservation");
    if (v == NULL) {
        return;
    }
    CHECK(reserved < before + 32 * MIB, "reserving and committing 512 MiB makes none of it resident");
    int zero = 1;
    for (size_t i = 0; i < pool / 2; i += 4096) {
        zero &= v[i] == 0;
        v[i] = 1;
    }
    size_t touched = rss_anon();
    CHECK(zero, "the pool reads as zero");
    CHECK(touched > reserved + pool / 2 - 32 * MIB && touched < reserved + pool / 2 + 32 * MIB,
          "writing half of it makes about half resident");
    PlatformMemStats stats;
    Platform_Mem_GetStats(&stats);
    CHECK(stats.mapped_bytes != UINT64_MAX && stats.mapped_bytes >= pool, "the statistics count the pool as mapped: %llu",
          (unsigned long long) stats.mapped_bytes);
    CHECK(stats.resident_bytes == UINT64_MAX
              || (stats.resident_bytes >= pool / 2 && stats.resident_bytes <= stats.mapped_bytes),
          "and half of it resident, where the backend can tell: %llu", (unsigned long long) stats.resident_bytes);
    CHECK(VirtualFree(v, pool / 2, MEM_DECOMMIT), "decommit the written half");
    size_t decommitted = rss_anon();
    CHECK(decommitted + pool / 2 - 32 * MIB < touched, "decommitting it gives its pages back");
    CHECK(v[0] == 0 && v[pool / 2 - 4096] == 0, "and it reads as zero again");
    v[pool - 1] = 7;
    CHECK(VirtualFree(v + pool / 2, pool / 2, MEM_DECOMMIT) && v[pool - 1] == 0,
          "a decommit inside the pool, past its base");
    CHECK(VirtualFree(v, 0, MEM_RELEASE), "release the pool");
    CHECK(rss_anon() < before + 32 * MIB, "released, the pool holds nothing");
}

static void heaps(void) {
    HANDLE heap = HeapCreate(0, 0, 0);
    CHECK(heap != NULL, "HeapCreate");
    unsigned char *blocks[100];
    for (int i = 0; i < 100; i++) {
        blocks[i] = HeapAlloc(heap, i % 2 ? HEAP_ZERO_MEMORY : 0, 10 + (size_t) i);
        CHECK(blocks[i] != NULL, "HeapAlloc");
    }
    CHECK(zeroes(blocks[1], 11), "HEAP_ZERO_MEMORY");
    CHECK(HeapSize(heap, 0, blocks[5]) == 15, "HeapSize");
    memset(blocks[2], 0x77, 12);
    unsigned char *grown = HeapReAlloc(heap, HEAP_ZERO_MEMORY, blocks[2], 100);
    CHECK(grown != NULL && grown[11] == 0x77 && zeroes(grown + 12, 88), "HeapReAlloc zeroes only the tail");
    blocks[2] = grown;
    CHECK(HeapReAlloc(heap, HEAP_REALLOC_IN_PLACE_ONLY, blocks[3], 5000) == NULL, "in place only fails");
    CHECK(HeapSize(heap, 0, blocks[3]) == 13, "and leaves the block as it was");
    CHECK(HeapFree(heap, 0, blocks[4]), "HeapFree");
    CHECK(HeapSize(heap, 0, blocks[4]) == (SIZE_T) -1, "HeapSize of a freed block is (SIZE_T)-1");
    CHECK(!HeapFree(heap, 0, blocks[4]), "HeapFree twice fails");
    /* a block of another heap: refused by HeapSize, HeapReAlloc and HeapFree, and left as it was */
    HANDLE other = HeapCreate(0, 0, 0);
    unsigned char *stranger = HeapAlloc(other, 0, 24);
    memset(stranger, 0x3C, 24);
    CHECK(HeapSize(heap, 0, stranger) == (SIZE_T) -1, "HeapSize of another heap's block");
    CHECK(HeapReAlloc(heap, 0, stranger, 48) == NULL, "HeapReAlloc of another heap's block");
    CHECK(!HeapFree(heap, 0, stranger), "HeapFree of another heap's block");
    CHECK(HeapSize(other, 0, stranger) == 24 && stranger[23] == 0x3C, "it is untouched");
    CHECK(HeapDestroy(other), "the other heap");
    CHECK(!HeapFree(other, 0, blocks[5]) && HeapSize(heap, 0, blocks[5]) == 15, "a destroyed heap's handle touches nothing");
    size_t live = Platform_Mem_GetCount();
    CHECK(HeapDestroy(heap), "HeapDestroy");
    CHECK(Platform_Mem_GetCount() == live - 99, "destroy freed every block: %zu", Platform_Mem_GetCount());
    unsigned char *p = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, 64);
    CHECK(p != NULL && zeroes(p, 64), "process heap");
    CHECK(HeapFree(GetProcessHeap(), 0, p), "process heap free");
    CHECK(!HeapDestroy(GetProcessHeap()), "the process heap cannot be destroyed");
}

static void global_memory(void) {
    /* the game's DIB code: a moveable, zeroed handle, locked to draw, resized while unlocked */
    HGLOBAL dib = GlobalAlloc(GHND, 40 + 256 * 4);
    CHECK(dib != NULL && ((uintptr_t) dib & 15) == 8, "moveable handle");
    unsigned char *bits = GlobalLock(dib);
    CHECK(bits != NULL && zeroes(bits, 1064), "GHND zeroes");
    CHECK(GlobalHandle(bits) == dib, "GlobalHandle maps back");
    CHECK(GlobalSize(dib) == 1064, "GlobalSize %zu", GlobalSize(dib));
    memset(bits, 0x42, 1064);
    CHECK(GlobalLock(dib) == bits, "second lock");
    CHECK(GlobalUnlock(dib) == TRUE, "still locked");
    CHECK(GlobalReAlloc(dib, 1 << 20, 0) == NULL, "a locked block may not move");
    CHECK(GlobalReAlloc(dib, 1064, 0) == dib && GlobalLock(dib) == bits, "the same size keeps a locked block in place");
    GlobalUnlock(dib);
    CHECK(GlobalSize(dib) == 1064 && bits[1063] == 0x42, "the original is valid");
    CHECK(GlobalUnlock(dib) == FALSE, "unlocked");
    CHECK(GlobalUnlock(dib) == FALSE, "unlocking an unlocked block");
    CHECK(GlobalReAlloc(dib, 1 << 20, GMEM_ZEROINIT) == dib, "resized unlocked: same handle");
    unsigned char *moved = GlobalLock(dib);
    CHECK(moved != NULL && moved[1063] == 0x42 && zeroes(moved + 1064, (1 << 20) - 1064), "contents and zeroed tail");
    CHECK(GlobalHandle(moved) == dib, "GlobalHandle after a move");
    GlobalUnlock(dib);
    CHECK(GlobalFree(dib) == NULL, "GlobalFree");
    CHECK(GlobalFree(dib) == dib, "a freed handle is refused");
    CHECK(GlobalLock(dib) == NULL, "and cannot be locked");

    HGLOBAL fixed = GlobalAlloc(GPTR, 100);
    CHECK(fixed != NULL && zeroes(fixed, 100) && GlobalLock(fixed) == fixed, "fixed memory is its own pointer");
    CHECK(GlobalHandle(fixed) == fixed, "GlobalHandle of fixed memory");
    CHECK(GlobalReAlloc(fixed, 200, 0) == NULL, "fixed memory does not move without GMEM_MOVEABLE");
    HGLOBAL bigger = GlobalReAlloc(fixed, 200, GMEM_MOVEABLE | GMEM_ZEROINIT);
    CHECK(bigger != NULL && zeroes(bigger, 200), "fixed memory moves with GMEM_MOVEABLE");
    CHECK(LocalFree(bigger) == NULL, "LocalFree");
    HLOCAL empty = LocalAlloc(LHND, 0);
    CHECK(empty != NULL && LocalLock(empty) == NULL, "an empty moveable block");
    CHECK(GlobalReAlloc(empty, 10, GMEM_ZEROINIT) == empty && zeroes(GlobalLock(empty), 10), "filled later");
    GlobalUnlock(empty);
    CHECK(GlobalFree(empty) == NULL, "freed");

    char a[16] = "abcdefghijklmno", b[16];
    CopyMemory(b, a, 16);
    MoveMemory(b + 1, b, 8);
    FillMemory(a, 4, 'z');
    CHECK(memcmp(b, "aabcdefghjklmno", 16) == 0 && a[3] == 'z' && a[4] == 'e', "Copy/Move/FillMemory");
    ZeroMemory(a, 16);
    CHECK(zeroes(a, 16), "ZeroMemory");
}

static void game_api(void) {
    Memory_Error = on_memory_error;
    Memory_Error_Exit = on_memory_error_exit;
    unsigned char *unit = Alloc(300, MEM_CLEAR);
    CHECK(unit != NULL && zeroes(unit, 300), "Alloc(n, MEM_CLEAR) zeroes");
    CHECK(MaxRam >= 300 && MinRam > 0, "records: MaxRam %lu MinRam %lu", MaxRam, MinRam);
    memset(unit, 9, 300);
    unit = Resize_Alloc(unit, 5000);
    CHECK(unit != NULL && unit[299] == 9, "Resize_Alloc keeps contents");
    CHECK(Ram_Free(MEM_NORMAL) > 0 && Heap_Size(MEM_NORMAL) >= Ram_Free(MEM_NORMAL), "Ram_Free/Heap_Size");
    CHECK(Total_Ram_Free(MEM_NORMAL) == Ram_Free(MEM_NORMAL) || Total_Ram_Free(MEM_NORMAL) > 0, "Total_Ram_Free");
    CHECK(Alloc((unsigned long) -1, MEM_NORMAL) == NULL, "an impossible Alloc fails");
    CHECK(memory_errors == 1, "Memory_Error was called");
    CHECK(strstr(exit_message, "Alloc") != NULL, "Memory_Error_Exit got a message: %s", exit_message);
    CHECK(Resize_Alloc(unit, (unsigned long) -1) == NULL && memory_errors == 2, "a failed Resize_Alloc calls the hook");
    CHECK(unit[299] == 9, "and keeps the block");
    Free(unit);
    Free(NULL);
    Memory_Error = 0;
    Memory_Error_Exit = 0;
}

/* Mem_Copy takes the SOURCE first (the reverse of memcpy), and copies overlapping ranges either way. */
static void game_copy(void) {
    unsigned char *from = Alloc(64, MEM_NORMAL);
    unsigned char *to = Alloc(64, MEM_CLEAR);
    CHECK(from != NULL && to != NULL, "two blocks");
    for (int i = 0; i < 64; i++) {
        from[i] = (unsigned char) (i + 1);
    }
    Mem_Copy(from, to, 40);
    int same = 1;
    for (int i = 0; i < 40; i++) {
        same &= to[i] == (unsigned char) (i + 1);
    }
    CHECK(same && to[40] == 0, "Mem_Copy(source, dest, 40) copied 40 bytes from the first argument to the second");
    CHECK(from[0] == 1 && from[39] == 40, "and left the source alone");

    Mem_Copy(from, from + 8, 32); /* forwards over itself: dest above source */
    same = 1;
    for (int i = 0; i < 32; i++) {
        same &= from[8 + i] == (unsigned char) (i + 1);
    }
    CHECK(same && from[7] == 8 && from[40] == 41, "an overlapping copy upwards moves the bytes intact");
    Mem_Copy(to + 8, to, 32); /* backwards over itself: dest below source */
    same = 1;
    for (int i = 0; i < 32; i++) {
        same &= to[i] == (unsigned char) (i + 9);
    }
    CHECK(same && to[39] == 40 && to[40] == 0, "an overlapping copy downwards moves the bytes intact");
    Mem_Copy(from, to, 0);
    CHECK(to[0] == 9, "0 bytes copies nothing");
    Free(from);
    Free(to);
}

/* GlobalMemoryStatus: the Win32 record, filled with the OS's figures (checked against sysinfo(2), which
 * the header does not use unless /proc/meminfo cannot be read). */
static void memory_status(void) {
    CHECK(offsetof(MEMORYSTATUS, dwLength) == 0 && offsetof(MEMORYSTATUS, dwMemoryLoad) == 4
          && offsetof(MEMORYSTATUS, dwTotalPhys) == 8
          && sizeof(MEMORYSTATUS) == 8 + 6 * sizeof(SIZE_T), "the Win32 layout: two DWORDs, six SIZE_Ts");
    MEMORYSTATUS status;
    memset(&status, 0xAB, sizeof status);
    GlobalMemoryStatus(&status);
    struct sysinfo info;
    CHECK(sysinfo(&info) == 0, "sysinfo");
    uint64_t unit = info.mem_unit == 0 ? 1 : info.mem_unit;
    uint64_t total = (uint64_t) info.totalram * unit;
    CHECK(status.dwLength == sizeof(MEMORYSTATUS), "dwLength %u", (unsigned) status.dwLength);
    CHECK(status.dwTotalPhys == total, "dwTotalPhys %zu is the OS's total RAM %llu", (size_t) status.dwTotalPhys,
          (unsigned long long) total);
    CHECK(status.dwTotalPhys >= ((SIZE_T) 64 << 20), "a plausible total: %zu bytes", (size_t) status.dwTotalPhys);
    CHECK(status.dwAvailPhys > 0 && status.dwAvailPhys <= status.dwTotalPhys, "dwAvailPhys %zu of %zu",
          (size_t) status.dwAvailPhys, (size_t) status.dwTotalPhys);
    CHECK(status.dwAvailPhys >= (SIZE_T) info.freeram * unit / 2, "available %zu is at least about the free %llu",
          (size_t) status.dwAvailPhys, (unsigned long long) info.freeram * unit);
    CHECK(status.dwMemoryLoad <= 100
          && status.dwMemoryLoad == (DWORD) ((status.dwTotalPhys - status.dwAvailPhys) * 100u / status.dwTotalPhys),
          "dwMemoryLoad %u%%", (unsigned) status.dwMemoryLoad);
    CHECK(status.dwTotalPageFile == total + (uint64_t) info.totalswap * unit,
          "dwTotalPageFile %zu is RAM plus swap", (size_t) status.dwTotalPageFile);
    CHECK(status.dwAvailPageFile >= status.dwAvailPhys && status.dwAvailPageFile <= status.dwTotalPageFile,
          "dwAvailPageFile %zu", (size_t) status.dwAvailPageFile);
    CHECK(status.dwTotalVirtual > status.dwAvailVirtual && status.dwAvailVirtual > 0,
          "address space: %zu of %zu available", (size_t) status.dwAvailVirtual, (size_t) status.dwTotalVirtual);
    /* the layer's own figure (no budget set here) is the same MemAvailable, read a moment apart */
    size_t layer = Platform_Ram_Free();
    size_t apart = layer > status.dwAvailPhys ? layer - status.dwAvailPhys : status.dwAvailPhys - layer;
    CHECK(apart < status.dwTotalPhys / 10, "Platform_Ram_Free %zu and dwAvailPhys %zu agree", layer,
          (size_t) status.dwAvailPhys);
    GlobalMemoryStatus(NULL); /* does nothing */
}

int main(void) {
    size_t live = Platform_Mem_GetCount();
    virtual_memory();
    virtual_pool();
    heaps();
    global_memory();
    game_api();
    game_copy();
    memory_status();
    CHECK(Platform_Mem_GetCount() == live, "nothing left live: %zu", Platform_Mem_GetCount());
    printf("compat headers on backend %s\n", Platform_Mem_Backend());
    return check_summary();
}
