/* adapter.c - helpers shared by target adapters (see adapter.h). */
#include "adapter.h"

#include <stdarg.h>
#include <stdio.h>

void tu_exec_set(struct tu_exec *e, Trueup__V1__Outcome__Result result, const char *error,
		 const char *fmt, ...)
{
	va_list ap;
	e->result = result;
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
	snprintf(e->error, sizeof(e->error), "%s", error != NULL ? error : "");
}
