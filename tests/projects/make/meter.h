/* A tiny usage meter: add readings, report the clamped total. */
#ifndef METER_H
#define METER_H

#define METER_LIMIT 1000

int meter_add(int total, int reading);
const char *meter_label(int total);

#endif
