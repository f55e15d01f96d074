#include <assert.h>
#include <stdio.h>
#include "meter.h"

static int calls;

/* Add a reading to the total; negative readings are a client error. */
int meter_add(int total, int reading)
{
	calls++;
	assert(total >= 0);
	if (total + reading > METER_LIMIT)
		return METER_LIMIT;
	return total + reading;
}

const char *meter_label(int total)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "%d units (%d calls) [%s]", total, calls, __FILE__);
	return buf;
}
