/* Short sleeps for the bounded retry loops of the core. */
#include <errno.h>
#include <time.h>

#include "ipcc_int.h"

void ipcc_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
	                       .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}
