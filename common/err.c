/* sc_err_set: one message per call, into the caller's buffer. */
#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>

void sc_err_set(struct sc_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}
