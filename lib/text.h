/*
 * text.h - text as protobuf's string fields carry it: proto3 requires UTF-8,
 * and a consumer in another language refuses a message with anything else.
 * Sources check what they read; the processor checks the facts it folds
 * and repairs what it quotes from input it refuses.
 */
#ifndef TU_TEXT_H
#define TU_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Length (1 to 4) of the valid UTF-8 sequence at the start of s[0..len), or
 * 0 if s does not start with one or starts with a NUL byte (len > 0).
 */
size_t tu_text_seq(const char *s, size_t len);
/* True if s[0..len) is valid UTF-8 (no overlongs, no surrogates) without NUL bytes. */
bool tu_text_valid(const char *s, size_t len);
/*
 * Makes the C string s valid UTF-8 in place: each byte that does not start a
 * valid sequence becomes '?' (messages built from file names or truncated
 * mid-character still encode as protobuf strings).
 */
void tu_text_repair(char *s);

#endif
