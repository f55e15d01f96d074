#include <stdio.h>
#include "../meter.h"

int main(void)
{
	return meter_add(1, 2) == 3 ? 0 : 1;
}
