/*
 * quantity.h - Kubernetes resource quantities ("10Gi", "500m", "1.5", "2e3")
 * parsed exactly, for typed comparisons of desired and actual specs.
 *
 * Grammar (Kubernetes API, resource.Quantity):
 *   quantity ::= [+-] number suffix
 *   number   ::= digits | digits "." digits | digits "." | "." digits
 *   suffix   ::= "" | binarySI | decimalSI | ("e"|"E") [+-] digits
 *   binarySI ::= Ki Mi Gi Ti Pi Ei        (powers of 1024)
 *   decimalSI::= m k M G T P E            (powers of 1000; m = 1/1000)
 * A value is kept as an integer significand and a power of ten, normalized
 * (no trailing zeros), so two quantities are equal exactly when their forms
 * are: "1Gi" == "1073741824", "0.5" == "500m", "1e3" == "1k".
 * Out of range (more than 19 significant digits, exponents beyond +-30) is
 * an error, never a rounded or silently zero value.
 */
#ifndef TU_QUANTITY_H
#define TU_QUANTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

struct tu_quantity {
	__int128 num;   /* significand, no trailing decimal zeros (0 for zero) */
	int32_t exp10;  /* value = num * 10^exp10 */
};

/* Parses s; on failure err says what is wrong and where. */
tu_status tu_quantity_parse(const char *s, struct tu_quantity *out, char *err, size_t errlen);
bool tu_quantity_equal(const struct tu_quantity *a, const struct tu_quantity *b);
/* -1, 0, 1; exact when the exponents are close, otherwise by magnitude. */
int tu_quantity_cmp(const struct tu_quantity *a, const struct tu_quantity *b);
/* Plain decimal text of the exact value ("1073741824", "0.5", "-2.25"). */
void tu_quantity_format(const struct tu_quantity *q, char *out, size_t outlen);

#endif
