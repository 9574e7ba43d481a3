/*
 * asan.h - AddressSanitizer's manual poisoning for trueup's own allocators.
 *
 * The arena (arena.h) hands out pieces of large blocks: without help, ASan
 * sees one big allocation and misses a read or write past the end of a
 * piece (a decoded string, an attribute array). Built with ASan, the arena
 * keeps everything it has not handed out poisoned and leaves a redzone
 * after each piece; without ASan these are no-ops and the redzone is 0.
 */
#ifndef TU_ASAN_H
#define TU_ASAN_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define TU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TU_ASAN 1
#endif
#endif

#ifdef TU_ASAN
#include <sanitizer/asan_interface.h>
#define TU_ASAN_REDZONE 16 /* bytes left poisoned after each arena piece */
static inline void tu_asan_poison(const void *p, size_t n)
{
	ASAN_POISON_MEMORY_REGION(p, n);
}
static inline void tu_asan_unpoison(const void *p, size_t n)
{
	ASAN_UNPOISON_MEMORY_REGION(p, n);
}
#else
#define TU_ASAN_REDZONE 0
static inline void tu_asan_poison(const void *p, size_t n)
{
	(void)p;
	(void)n;
}
static inline void tu_asan_unpoison(const void *p, size_t n)
{
	(void)p;
	(void)n;
}
#endif

#endif
